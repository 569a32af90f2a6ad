// Helper lookup by id and name, and the services HelperCtx offers helpers.
#include <string_view>

#include "core/expect_table.h"
#include "core/l4_dispatch.h"
#include "ctrack/expectation.h"
#include "helpers/helper_list.h"
#include "proto/l4proto.h"

namespace ctrack {
namespace {

const HelperInfo* info_of(std::uint8_t id) {
  return with_helper(
      id, []<class H>() -> const HelperInfo* { return &H::kInfo; },
      []() -> const HelperInfo* { return nullptr; });
}

}  // namespace

std::uint8_t helper_id(std::string_view name) {
  for (std::uint8_t id = 1; id < kHelperIdEnd; ++id) {
    if (name == info_of(id)->name) return id;
  }
  return 0;
}

const char* helper_name(std::uint8_t id) {
  const HelperInfo* i = info_of(id);
  return i != nullptr ? i->name : nullptr;
}

std::uint8_t helper_proto(std::uint8_t id) {
  const HelperInfo* i = info_of(id);
  return i != nullptr ? i->proto : 0;
}

std::uint16_t helper_default_port(std::uint8_t id) {
  const HelperInfo* i = info_of(id);
  return i != nullptr ? i->default_port : 0;
}

ExpectStatus HelperCtx::expect(const ExpectSpec& spec) const {
  const HelperPolicy policy = with_helper(
      conn.helper, [&]<class H>() { return H::policy(cfg); }, []() { return HelperPolicy{}; });
  return expects.insert(spec, slot, conn.id, conn.orig, conn.helper, policy, now, stats);
}

Tuple HelperCtx::tuple(Direction d) const {
  if (d == Direction::Original) return conn.orig;
  Tuple r;
  invert_tuple(conn.orig, r);
  return r;
}

std::span<const std::uint8_t> HelperCtx::payload() const {
  const std::uint32_t l4len = pkt.l4_len();
  std::uint32_t off = 0;
  if (pkt.proto == kProtoTCP) {
    if (l4len < 20) return {};
    off = static_cast<std::uint32_t>(pkt.l4()[12] >> 4) * 4;
  } else if (pkt.proto == kProtoUDP || pkt.proto == kProtoUDPLite) {
    off = 8;
  } else {
    return {};
  }
  if (off >= l4len) return {};
  return {pkt.l4() + off, l4len - off};
}

void HelperCtx::refresh_master(std::uint32_t secs) const {
  if (!conn.has(kStatusFixedTimeout)) conn.expires = now + seconds(secs);
}

}  // namespace ctrack
