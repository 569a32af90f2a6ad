// libFuzzer target for the per-packet path: link-layer stripping, IP
// parsing, and the whole engine (trackers, helpers, table) on what comes out.
// The first input byte picks the link type; the rest is the captured frame.
// Also: the sharded engine's steering hash read in place must equal the one
// computed from a full parse, and a twin engine fed the same packets through
// process_batch with the look-ahead forced on (parse, tuple and hash made in
// stage 1 and handed to track()) must give the same Result for every packet.
// And a two-shard ShardedEngine fed the non-fragment packets (admit, steer,
// sweep of the other shard, process: what a `--threads 2` replay does) must
// give the Result a single engine fed the same packets gives, entry ids
// aside (a sharded engine numbers entries by packet). That pair sees every
// packet as arriving from the network (the sharded engine has no other
// hook) and starts afresh whenever the single engine's table is about to
// fill: nf_conntrack_max is enforced per shard, a documented divergence.
// Fragments stay out of it: a sharded replay reassembles in its front, on
// an engine of its own, before steering.
// The engines live across inputs so that sequences of packets reach
// established/expected states, with time advancing 1 ms per input; they share
// a hash seed, so that early drop and the GC pick the same entries.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "ctrack/engine.h"
#include "ctrack/sharded_engine.h"
#include "parse/link_layer.h"
#include "parse/packet.h"
#include "shard/flow_steer.h"

namespace {

constexpr int kLinkTypes[] = {
    ctrack::kLinkEthernet, ctrack::kLinkRaw,      ctrack::kLinkNull,      ctrack::kLinkLoop,
    ctrack::kLinkPpp,      ctrack::kLinkLinuxSll, ctrack::kLinkLinuxSll2, ctrack::kLinkIPv4,
};

ctrack::Config config(ctrack::Config::BatchLookAhead la) {
  ctrack::Config c = ctrack::Config::for_profile(ctrack::Profile::Linux);
  c.hash_seed = 0x5eed;
  c.batch_look_ahead = la;
  return c;
}

ctrack::Engine& engine() {
  static ctrack::Engine e(config(ctrack::Config::BatchLookAhead::Auto));
  return e;
}

ctrack::Engine& batch_twin() {
  static ctrack::Engine e(config(ctrack::Config::BatchLookAhead::Always));
  return e;
}

// The single engine and the sharded engine it is compared with.
struct ShardedPair {
  ctrack::Engine single{config(ctrack::Config::BatchLookAhead::Auto)};
  ctrack::ShardedEngine sharded{config(ctrack::Config::BatchLookAhead::Auto), 2};
};

std::unique_ptr<ShardedPair>& sharded_pair() {
  static std::unique_ptr<ShardedPair> p;
  return p;
}

bool same(const ctrack::Result& a, const ctrack::Result& b, bool same_ids = true) {
  if (a.state != b.state || a.direction != b.direction || a.reason != b.reason ||
      a.dropped != b.dropped || a.destroyed != b.destroyed || a.helper_drop != b.helper_drop ||
      a.has_tuple != b.has_tuple || a.tcp_flags != b.tcp_flags || a.tcp_before != b.tcp_before ||
      a.frag != b.frag || a.datagram != b.datagram || a.frag_count != b.frag_count ||
      (a.conn == nullptr) != (b.conn == nullptr)) {
    return false;
  }
  if (a.has_tuple && !(a.tuple == b.tuple)) return false;
  return a.conn == nullptr ||
         ((!same_ids || a.conn->id == b.conn->id) && a.conn->status == b.conn->status &&
          a.conn->expires == b.conn->expires && a.conn->orig == b.conn->orig &&
          (a.conn->proto() != ctrack::kProtoTCP || a.conn->l4.tcp.state == b.conn->l4.tcp.state));
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
  const bool parsed = ctrack::parse_ip(l3, pkt) == ctrack::InvalidReason::None;
  if (parsed) {
    // The parsed view must lie inside the input.
    if (pkt.len > l3.size() || pkt.l4_off > pkt.len) __builtin_trap();
  }
  constexpr std::uint64_t kSteerKey = 0x9e3779b97f4a7c15ull;
  // The in-place steering skips the header checksum, so it agrees with the
  // full parse on every packet that parses (bad checksums are INVALID on
  // whichever shard they land).
  if (parsed && ctrack::steer_hash(l3, kSteerKey) != ctrack::steer_hash_parsed(l3, kSteerKey)) {
    __builtin_trap();
  }
  const auto hook = (sel & 0x80) ? ctrack::Hook::Local : ctrack::Hook::Network;
  ctrack::CtTemplate tmpl;
  tmpl.zone = (sel & 0x40) ? 3 : 0;
  const ctrack::Result single = engine().process(l3, now, hook, tmpl);
  const ctrack::BatchPacket bp{l3, now, tmpl};
  ctrack::Result batched;
  batch_twin().process_batch({&bp, 1}, {&batched, 1}, hook);
  if (!same(single, batched)) __builtin_trap();

  if (parsed && pkt.fragment) return 0;
  auto& pair = sharded_pair();
  if (!pair || pair->single.stats().entries + 1 >= pair->single.config().max) {
    pair = std::make_unique<ShardedPair>();
  }
  ctrack::ShardedEngine& se = pair->sharded;
  const unsigned shard = se.steer(l3);
  const ctrack::ShardedEngine::Ticket ticket = se.admit(now);
  for (unsigned i = 0; i < se.size(); ++i) {
    if (i != shard) se.sweep(i, ticket);
  }
  const ctrack::Result by_shard = se.process(shard, l3, ticket, tmpl);
  const ctrack::Result alone = pair->single.process(l3, now, ctrack::Hook::Network, tmpl);
  if (!same(alone, by_shard, /*same_ids=*/false)) __builtin_trap();
  return 0;
}
