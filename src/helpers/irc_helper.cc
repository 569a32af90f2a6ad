// IRC (nf_conntrack_irc, linux-core.md §7.5): a DCC offer in a client's
// PRIVMSG opens the client's announced port to anyone.
#include "helpers/helper_list.h"
#include "helpers/irc_parse.h"

namespace ctrack {

const HelperInfo IrcHelper::kInfo = {"irc", kProtoTCP, kFamilyIPv4, 6667};

HelperPolicy IrcHelper::policy(const Config& cfg) {
  // The module refuses to load outside 1..NF_CT_EXPECT_MAX_CNT (255); a
  // config outside that range is clamped rather than leaving the helper out.
  std::uint32_t max = cfg.irc_max_dcc_channels;
  if (max < 1) max = 1;
  if (max > 255) max = 255;
  return HelperPolicy{max, cfg.irc_dcc_timeout};
}

HelperVerdict IrcHelper::help(HelperCtx& ctx) {
  // Offers from the server side are never trusted, and nothing is parsed
  // before traffic has gone both ways (so never on RELATED/NEW).
  if (ctx.pkt.proto != kProtoTCP || ctx.ctinfo != CtInfo::Established) return HelperVerdict::Accept;
  const std::span<const std::uint8_t> data = ctx.payload();
  if (data.empty()) return HelperVerdict::Accept;

  const Tuple orig = ctx.tuple(Direction::Original);
  const Tuple reply = ctx.tuple(Direction::Reply);
  const irc::Parsed p = irc::parse(data, orig.src, reply.dst);
  if (!p.found) return HelperVerdict::Accept;

  // Whoever the client is talking to may connect: the peer is usually behind
  // the IRC server, so neither its address nor its port is known.
  ExpectSpec spec;
  spec.family = reply.family;
  spec.src_any = true;
  spec.dst = reply.dst;
  spec.proto = kProtoTCP;
  spec.dport = p.port;
  return ctx.expect(spec) == ExpectStatus::Ok ? HelperVerdict::Accept : HelperVerdict::Drop;
}

}  // namespace ctrack
