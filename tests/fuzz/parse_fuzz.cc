// libFuzzer target for the per-packet path: link-layer stripping, IP
// parsing, and the whole engine (trackers, helpers, table) on what comes out.
// The first input byte picks the link type; the rest is the captured frame.
// Also: the sharded engine's steering hash read in place must equal the one
// computed from a full parse.
// One engine lives across inputs so that sequences of packets reach
// established/expected states, with time advancing 1 ms per input.
#include <cstddef>
#include <cstdint>
#include <span>

#include "ctrack/engine.h"
#include "parse/link_layer.h"
#include "parse/packet.h"
#include "shard/flow_steer.h"

namespace {

constexpr int kLinkTypes[] = {
    ctrack::kLinkEthernet, ctrack::kLinkRaw,      ctrack::kLinkNull,      ctrack::kLinkLoop,
    ctrack::kLinkPpp,      ctrack::kLinkLinuxSll, ctrack::kLinkLinuxSll2, ctrack::kLinkIPv4,
};

ctrack::Engine& engine() {
  static ctrack::Engine e;
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static ctrack::Timestamp now = 0;
  now += 1'000'000;
  const std::uint8_t sel = data[0];
  const int linktype = kLinkTypes[sel % (sizeof kLinkTypes / sizeof kLinkTypes[0])];
  const std::span<const std::uint8_t> frame(data + 1, size - 1);

  const ctrack::LinkResult lr = ctrack::strip_link_layer(linktype, frame);
  if (lr.reason != ctrack::InvalidReason::None) return 0;
  if (lr.l3_offset > frame.size()) __builtin_trap();  // must never point past the frame
  const auto l3 = frame.subspan(lr.l3_offset);

  ctrack::Packet pkt;
  if (ctrack::parse_ip(l3, pkt) == ctrack::InvalidReason::None) {
    // The parsed view must lie inside the input.
    if (pkt.len > l3.size() || pkt.l4_off > pkt.len) __builtin_trap();
  }
  constexpr std::uint64_t kSteerKey = 0x9e3779b97f4a7c15ull;
  if (ctrack::steer_hash(l3, kSteerKey) != ctrack::steer_hash_parsed(l3, kSteerKey)) {
    __builtin_trap();
  }
  const auto hook = (sel & 0x80) ? ctrack::Hook::Local : ctrack::Hook::Network;
  (void)engine().process(l3, now, hook);
  return 0;
}
