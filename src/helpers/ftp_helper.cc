// FTP (nf_conntrack_ftp, linux-core.md §7.4): PORT/EPRT from the client and
// 227/229 from the server open the data connection's expectation.
#include "helpers/ftp_parse.h"
#include "helpers/helper_list.h"

namespace ctrack {
namespace {

// Sequence numbers that directly follow a '\n', per direction: a command is
// only looked for at the start of a segment that starts a line. The kernel
// remembers two per direction (NUM_SEQ_TO_REMEMBER).
struct FtpState {
  std::uint32_t after_nl[2][2];
  std::uint8_t count[2];
};

bool seq_before(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) < 0; }

bool seq_known(const FtpState& st, unsigned dir, std::uint32_t seq) {
  for (unsigned i = 0; i < st.count[dir]; ++i) {
    if (st.after_nl[dir][i] == seq) return true;
  }
  return false;
}

void remember(FtpState& st, unsigned dir, std::uint32_t seq) {
  if (seq_known(st, dir, seq)) return;
  if (st.count[dir] < 2) {
    st.after_nl[dir][st.count[dir]++] = seq;
    return;
  }
  // Both slots used: replace the older one, but never with an older value.
  const unsigned oldest = seq_before(st.after_nl[dir][0], st.after_nl[dir][1]) ? 0 : 1;
  if (seq_before(st.after_nl[dir][oldest], seq)) st.after_nl[dir][oldest] = seq;
}

Direction other(Direction d) {
  return d == Direction::Original ? Direction::Reply : Direction::Original;
}

}  // namespace

const HelperInfo FtpHelper::kInfo = {"ftp", kProtoTCP, 0, 21};

HelperPolicy FtpHelper::policy(const Config&) { return HelperPolicy{1, 300}; }

HelperVerdict FtpHelper::help(HelperCtx& ctx) {
  // Nothing is parsed until traffic has gone both ways.
  if (ctx.pkt.proto != kProtoTCP ||
      (ctx.ctinfo != CtInfo::Established && ctx.ctinfo != CtInfo::EstablishedReply)) {
    return HelperVerdict::Accept;
  }
  const std::span<const std::uint8_t> data = ctx.payload();
  if (data.empty()) return HelperVerdict::Accept;

  FtpState& st = ctx.data.as<FtpState>();
  const unsigned dir = static_cast<unsigned>(ctx.dir);
  const std::uint32_t seq = load_be32(ctx.pkt.l4() + 4);
  const bool ends_in_nl = data.back() == '\n';
  const std::uint32_t next_line = seq + static_cast<std::uint32_t>(data.size());
  auto done = [&](HelperVerdict v) {
    if (ends_in_nl) remember(st, dir, next_line);
    return v;
  };

  if (!seq_known(st, dir, seq)) return done(HelperVerdict::Accept);

  const Tuple mine = ctx.tuple(ctx.dir);
  const ftp::Parsed p = ftp::parse(data, ctx.dir, ctx.conn.orig.family, mine.src);
  // A command that starts right but does not parse is dropped, and the line
  // bookkeeping is left alone so that its retransmission is parsed again.
  if (p.outcome == ftp::Outcome::Partial) return HelperVerdict::Drop;
  if (p.outcome == ftp::Outcome::NoMatch) return done(HelperVerdict::Accept);

  // The data connection comes from the other side of the control connection.
  const Tuple peer = ctx.tuple(other(ctx.dir));
  ExpectSpec spec;
  spec.family = ctx.conn.orig.family;
  spec.src = peer.src;
  spec.dst = peer.dst;
  spec.proto = kProtoTCP;
  spec.dport = p.port;
  if (p.addr != mine.src) {
    // Naming another host than the sender (FTP bounce, or a DMZ host opening
    // a hole to a third one) creates nothing unless `loose` is set.
    if (!ctx.cfg.ftp_loose) return done(HelperVerdict::Accept);
    spec.dst = p.addr;
  }
  const ExpectStatus s = ctx.expect(spec);
  return done(s == ExpectStatus::Ok ? HelperVerdict::Accept : HelperVerdict::Drop);
}

}  // namespace ctrack
