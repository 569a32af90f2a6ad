// The batch path (Engine::process_batch): a software pipeline that hashes
// each packet and prefetches its bucket, then its chain entries, a few
// packets before it tracks the packet through the ordinary single-packet
// pipeline. On a table far larger than the caches a lookup is a chain of
// dependent misses (bucket head, entry, sometimes the next entry); started
// a few packets early, they overlap with the tracking of the packets in
// between. Tracking itself is unchanged, so the verdicts are those of
// single calls by construction: what stage 1 computed (parse, tuple,
// inverse, hash: the same functions track() would call) is handed to
// track() for the very bytes it was made from, instead of being computed a
// second time.
//
// A template over a step run before each packet is tracked, so that sharded
// engines can move each packet's clock and GC schedule the way their front
// decided (ShardedEngine::process_batch), and one run after it, so that a
// caller printing per-packet state reads each entry as that packet left it
// (Engine::process_batch with a ResultVisitor); no cost to the plain path.
#pragma once

#include <algorithm>
#include <new>
#include <type_traits>

#include "core/engine_core.h"
#include "core/l4_dispatch.h"
#include "core/tuple_tail.h"

namespace ctrack {
namespace batch_detail {

// The look-ahead pass pays for itself only when lookups would miss the
// private caches (L2 is 512 KiB-1 MiB on current x86 cores). What a lookup
// touches is a bucket-head line and an entry per live connection, not the
// whole bucket array: a table of a few thousand entries stays cached however
// many buckets it has, and there the extra pass costs ~15 ns per packet.
inline constexpr std::size_t kPrefetchAboveBytes = std::size_t{1} << 20;
inline constexpr std::size_t kTouchedPerEntry = sizeof(Conn) + 64;

}  // namespace batch_detail

template <class BeforeEach, class AfterEach>
void EngineCore::process_batch_with(std::span<const BatchPacket> pkts, std::span<Result> out,
                                    Hook hook, BeforeEach before_each, AfterEach after_each) {
  const std::size_t n = std::min(pkts.size(), out.size());
  // Entries destroyed by the previous call are released now, as the first
  // track() would (which also confirms whatever the previous call left).
  release_deferred();
  in_batch_ = true;
  bool look_ahead = std::size_t{table_.pool_size()} * batch_detail::kTouchedPerEntry >
                    batch_detail::kPrefetchAboveBytes;
  if (cfg_.batch_look_ahead != Config::BatchLookAhead::Auto) {
    look_ahead = cfg_.batch_look_ahead == Config::BatchLookAhead::Always;
  }

  // Scratch for the packets of one window (parse, tuple, inverse, hash),
  // allocated once per engine.
  constexpr std::size_t kWindow = BatchScratch::kWindow;
  if (!batch_scratch_) batch_scratch_ = std::make_unique<BatchScratch>();
  // Plain references, not a structured binding: clang before 16 cannot
  // capture structured bindings in the lambdas below.
  BatchScratch& scratch = *batch_scratch_;
  auto& keyed = scratch.keyed;
  auto& hashed = scratch.hashed;
  auto& parsed = scratch.parsed;
  auto& parse_err = scratch.parse_err;
  std::size_t base = 0;

  // Stage 1: tuple and hash of a packet that takes the plain lookup path
  // (ICMP errors, fragments and unparsable packets do not), and a prefetch
  // of its bucket head.
  auto hash_and_prefetch = [&](std::size_t i) {
    hashed[i] = false;
    const BatchPacket& bp = pkts[base + i];
    const Packet& pkt = parsed[i];
    parse_err[i] = parse_ip(bp.l3, parsed[i]);
    if (bp.tmpl.notrack || parse_err[i] != InvalidReason::None || pkt.fragment) return;
    with_tracker(pkt.family, pkt.proto, [&]<class T>() {
      if constexpr (T::kProto != kProtoICMP && T::kProto != kProtoICMPv6) {
        Keyed& k = keyed[i];
        Tuple& t = k.t;
        t = Tuple{};
        t.src = pkt.src;
        t.dst = pkt.dst;
        t.family = pkt.family;
        t.proto = pkt.proto;
        t.zone = bp.tmpl.zone;
        if (!T::tuple(pkt, t)) return;
        seal_tuple_tail(t);
        k.has_inv = T::invert(t, k.inv);
        k.hash = table_.hash(t, k.has_inv ? &k.inv : nullptr);
        hashed[i] = true;
        table_.prefetch_bucket(k.hash);
      }
    });
  };
  // Stage 3: the ordinary pipeline (process() == track() + confirm()).
  auto track_one = [&](std::size_t i, bool hinted) {
    const BatchPacket& bp = pkts[base + i];
    before_each(base + i);
    if (hinted) {
      prepared_ = Prepared{bp.l3.data(), &parsed[i], parse_err[i], hashed[i] ? &keyed[i] : nullptr};
    }
    // Constructed in place (guaranteed copy elision) rather than assigned:
    // copying a Result whose fields were just written one by one would
    // read them back as wide words before the narrow stores retire
    // (store-forwarding stalls, see core/tuple_tail.h).
    static_assert(std::is_trivially_destructible_v<Result>);
    ::new (static_cast<void*>(&out[base + i])) Result(track(bp.l3, bp.now, hook, bp.tmpl));
    prepared_ = Prepared{};
    if (!confirm()) {  // the entry's helper dropped it, as in process()
      out[base + i].dropped = true;
      out[base + i].helper_drop = true;
    }
    if (deferred_ != kNoConn) {
      batch_deferred_.push_back(deferred_);
      deferred_ = kNoConn;
    }
    after_each(base + i);
  };

  // The look-ahead is a software pipeline rather than one pass per stage:
  // packet j + kBucketAhead is hashed and its bucket prefetched, packet
  // j + kEntryAhead gets its first chain entry prefetched (its bucket line
  // has had kBucketAhead - kEntryAhead packets' time to arrive), packet
  // j + kSecondAhead its
  // second entry when the first is not its own (a third of hits at one
  // entry per bucket), and packet j is tracked. Issuing a window's misses
  // in one burst (the earlier design) made them queue for the core's miss
  // buffers; spread out like this they overlap with tracking. (Distances
  // measured on the 1M-flow workload, BENCHMARKS.md.)
  constexpr std::size_t kBucketAhead = 8, kEntryAhead = 5, kSecondAhead = 2;
  for (; base < n; base += kWindow) {
    const std::size_t w = std::min(kWindow, n - base);
    if (!look_ahead) {
      for (std::size_t i = 0; i < w; ++i) track_one(i, false);
      continue;
    }
    for (std::size_t j = 0; j < w + kBucketAhead; ++j) {
      if (j < w) hash_and_prefetch(j);
      if (const std::size_t k = j - (kBucketAhead - kEntryAhead);
          j >= kBucketAhead - kEntryAhead && k < w) {
        if (hashed[k]) table_.prefetch_first(keyed[k].hash);
      }
      if (const std::size_t k = j - (kBucketAhead - kSecondAhead);
          j >= kBucketAhead - kSecondAhead && k < w) {
        if (hashed[k]) {
          const Keyed& kk = keyed[k];
          table_.prefetch_second(kk.hash, kk.t, kk.has_inv ? &kk.inv : nullptr);
        }
      }
      if (j >= kBucketAhead) track_one(j - kBucketAhead, true);
    }
  }
  in_batch_ = false;
}

}  // namespace ctrack
