// The batch path (Engine::process_batch): hash every packet of a window
// first and prefetch its bucket, then its first chain entry, then track the
// packets one by one through the ordinary single-packet pipeline. On a table
// far larger than the caches a lookup is two dependent misses (bucket head,
// entry); issuing them for a whole window before the first lookup makes them
// overlap. Tracking itself is unchanged, so the verdicts are those of single
// calls by construction: the precomputed hash is only used when the pipeline
// arrives at the very tuple it was computed for, and the parse of stage 1
// is handed to track() for the very bytes it was made from.
#include <algorithm>
#include <new>
#include <type_traits>

#include "core/engine_core.h"
#include "core/l4_dispatch.h"
#include "core/tuple_tail.h"

namespace ctrack {
namespace {

// The look-ahead pass pays for itself only when lookups would miss the
// private caches (L2 is 512 KiB-1 MiB on current x86 cores). What a lookup
// touches is a bucket-head line and an entry per live connection, not the
// whole bucket array: a table of a few thousand entries stays cached however
// many buckets it has, and there the extra pass costs ~15 ns per packet.
constexpr std::size_t kPrefetchAboveBytes = std::size_t{1} << 20;
constexpr std::size_t kTouchedPerEntry = sizeof(Conn) + 64;

}  // namespace

void EngineCore::process_batch(std::span<const BatchPacket> pkts, std::span<Result> out,
                               Hook hook) {
  const std::size_t n = std::min(pkts.size(), out.size());
  // Entries destroyed by the previous call are released now, as the first
  // track() would (which also confirms whatever the previous call left).
  release_deferred();
  in_batch_ = true;
  const bool look_ahead = std::size_t{table_.pool_size()} * kTouchedPerEntry > kPrefetchAboveBytes;

  // Packets hashed and prefetched ahead of the lookups: enough to cover the
  // memory latency, few enough that the prefetched lines (2 per packet) are
  // still in L1/L2 when the packet is tracked.
  constexpr std::size_t kWindow = BatchScratch::kWindow;
  if (!batch_scratch_) batch_scratch_ = std::make_unique<BatchScratch>();
  // Plain references, not a structured binding: clang before 16 cannot
  // capture structured bindings in the lambda below.
  BatchScratch& scratch = *batch_scratch_;
  auto& hashes = scratch.hashes;
  auto& tuples = scratch.tuples;
  auto& hashed = scratch.hashed;
  auto& parsed = scratch.parsed;
  auto& parse_err = scratch.parse_err;
  for (std::size_t base = 0; base < n; base += kWindow) {
    const std::size_t w = std::min(kWindow, n - base);
    // Stage 1: tuple and hash of every packet that takes the plain lookup
    // path (ICMP errors, fragments and unparsable packets do not), and a
    // prefetch of its bucket head.
    for (std::size_t i = 0; i < w && look_ahead; ++i) {
      hashed[i] = false;
      const BatchPacket& bp = pkts[base + i];
      const Packet& pkt = parsed[i];
      parse_err[i] = parse_ip(bp.l3, parsed[i]);
      if (bp.tmpl.notrack || parse_err[i] != InvalidReason::None || pkt.fragment) continue;
      with_tracker(pkt.family, pkt.proto, [&]<class T>() {
        if constexpr (T::kProto != kProtoICMP && T::kProto != kProtoICMPv6) {
          Tuple& t = tuples[i];
          t = Tuple{};
          t.src = pkt.src;
          t.dst = pkt.dst;
          t.family = pkt.family;
          t.proto = pkt.proto;
          t.zone = bp.tmpl.zone;
          if (!T::tuple(pkt, t)) return;
          seal_tuple_tail(t);
          Tuple inv;
          hashes[i] = table_.hash(t, T::invert(t, inv) ? &inv : nullptr);
          hashed[i] = true;
          table_.prefetch_bucket(hashes[i]);
        }
      });
    }
    // Stage 2: the bucket heads have (mostly) arrived; fetch the entries.
    for (std::size_t i = 0; i < w; ++i) {
      if (look_ahead && hashed[i]) table_.prefetch_first(hashes[i]);
    }
    // Stage 3: the ordinary pipeline, packet after packet (process() ==
    // track() + confirm()).
    for (std::size_t i = 0; i < w; ++i) {
      const BatchPacket& bp = pkts[base + i];
      hint_valid_ = look_ahead && hashed[i];
      if (hint_valid_) {
        hint_hash_ = hashes[i];
        hint_tuple_ = tuples[i];
      }
      parsed_ = look_ahead ? &parsed[i] : nullptr;
      parsed_err_ = parse_err[i];
      // Constructed in place (guaranteed copy elision) rather than assigned:
      // copying a Result whose fields were just written one by one would
      // read them back as wide words before the narrow stores retire
      // (store-forwarding stalls, see core/tuple_tail.h).
      static_assert(std::is_trivially_destructible_v<Result>);
      ::new (static_cast<void*>(&out[base + i])) Result(track(bp.l3, bp.now, hook, bp.tmpl));
      hint_valid_ = false;
      parsed_ = nullptr;
      if (!confirm()) {  // the entry's helper dropped it, as in process()
        out[base + i].dropped = true;
        out[base + i].helper_drop = true;
      }
      if (deferred_ != kNoConn) {
        batch_deferred_.push_back(deferred_);
        deferred_ = kNoConn;
      }
    }
  }
  in_batch_ = false;
}

void Engine::process_batch(std::span<const BatchPacket> pkts, std::span<Result> out, Hook hook) {
  core_->process_batch(pkts, out, hook);
}

}  // namespace ctrack
