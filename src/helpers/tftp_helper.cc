// TFTP (nf_conntrack_tftp, linux-core.md §7.6): the server answers a read or
// write request from a fresh port, so the request opens the client's port to
// any port of the server.
#include "helpers/helper_list.h"

namespace ctrack {
namespace {

constexpr std::uint16_t kOpRead = 1;   // RRQ
constexpr std::uint16_t kOpWrite = 2;  // WRQ
constexpr std::uint32_t kUdpHeader = 8;

}  // namespace

const HelperInfo TftpHelper::kInfo = {"tftp", kProtoUDP, 0, 69};

HelperPolicy TftpHelper::policy(const Config&) { return HelperPolicy{1, 300}; }

HelperVerdict TftpHelper::help(HelperCtx& ctx) {
  // The kernel reads the opcode 8 bytes into the transport header whatever
  // the packet is: every direction and ctinfo. (For an ICMP error relayed
  // here that is the quoted IP header, whose first bytes are never 1 or 2.)
  if (ctx.pkt.l4_len() < kUdpHeader + 2) return HelperVerdict::Accept;
  const std::uint16_t op = load_be16(ctx.pkt.l4() + kUdpHeader);
  if (op != kOpRead && op != kOpWrite) return HelperVerdict::Accept;

  const Tuple reply = ctx.tuple(Direction::Reply);
  ExpectSpec spec;
  spec.family = reply.family;
  spec.src = reply.src;
  spec.dst = reply.dst;
  spec.proto = kProtoUDP;
  spec.dport = reply.dst_id;
  return ctx.expect(spec) == ExpectStatus::Ok ? HelperVerdict::Accept : HelperVerdict::Drop;
}

}  // namespace ctrack
