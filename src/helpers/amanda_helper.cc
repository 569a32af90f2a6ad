// Amanda (nf_conntrack_amanda, linux-core.md §7.7): the client daemon's UDP
// reply names the TCP ports the backup server is to connect to.
#include "helpers/amanda_parse.h"
#include "helpers/helper_list.h"

namespace ctrack {

const HelperInfo AmandaHelper::kInfo = {"amanda", kProtoUDP, 0, 10080};

HelperPolicy AmandaHelper::policy(const Config&) { return HelperPolicy{4, 180}; }

HelperVerdict AmandaHelper::help(HelperCtx& ctx) {
  // Only what comes back from the client daemon is looked at.
  if (ctx.dir != Direction::Reply) return HelperVerdict::Accept;
  // Amanda clients answer slowly: every reply keeps the master alive for
  // master_timeout instead of the UDP timeout, payload or not.
  ctx.refresh_master(ctx.cfg.amanda_master_timeout);
  const std::span<const std::uint8_t> data = ctx.payload();
  if (data.empty()) return HelperVerdict::Accept;

  const amanda::Parsed p = amanda::parse(data);
  const Tuple orig = ctx.tuple(Direction::Original);
  HelperVerdict v = HelperVerdict::Accept;
  for (std::size_t i = 0; i < p.count; ++i) {
    ExpectSpec spec;
    spec.family = orig.family;
    spec.src = orig.src;
    spec.dst = orig.dst;
    spec.proto = kProtoTCP;
    spec.dport = p.ports[i].port;
    // A refused expectation drops the packet but the other ports are still
    // registered, as the kernel's loop goes on.
    if (ctx.expect(spec) != ExpectStatus::Ok) v = HelperVerdict::Drop;
  }
  return v;
}

}  // namespace ctrack
