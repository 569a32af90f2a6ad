// Writes the last 8 bytes of a Tuple (src_id, dst_id, family, proto, zone)
// as one 8-byte store.
//
// Why: the per-packet path builds a tuple and immediately reads it back as
// whole words (the keyed hash, the word compares of the lookup, the copy into
// the Result). A word load that spans several narrow stores still sitting in
// the store buffer cannot be forwarded and waits for them to retire (a
// store-forwarding stall, ~12 cycles each). Profiling the one-flow benchmark
// showed these stalls as its largest cost; composing the tail in a register
// and storing it once removes them.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ctrack/tuple.h"

namespace ctrack {

static_assert(offsetof(Tuple, src_id) == 32 && offsetof(Tuple, dst_id) == 34 &&
                  offsetof(Tuple, family) == 36 && offsetof(Tuple, proto) == 37 &&
                  offsetof(Tuple, zone) == 38 && sizeof(Tuple) == 40,
              "tuple_tail.h assumes this layout");

inline void set_tuple_tail(Tuple& t, std::uint16_t src_id, std::uint16_t dst_id,
                           std::uint8_t family, std::uint8_t proto, std::uint16_t zone) {
  std::uint8_t b[8];
  if constexpr (std::endian::native == std::endian::little) {
    const std::uint64_t w = std::uint64_t{src_id} | std::uint64_t{dst_id} << 16 |
                            std::uint64_t{family} << 32 | std::uint64_t{proto} << 40 |
                            std::uint64_t{zone} << 48;
    std::memcpy(b, &w, 8);
  } else {
    std::memcpy(b, &src_id, 2);
    std::memcpy(b + 2, &dst_id, 2);
    b[4] = family;
    b[5] = proto;
    std::memcpy(b + 6, &zone, 2);
  }
  std::memcpy(reinterpret_cast<unsigned char*>(&t) + offsetof(Tuple, src_id), b, 8);
}

// Rewrites the tail from the tuple's own fields (after code that set them one
// by one), so that later word loads forward from a single store.
inline void seal_tuple_tail(Tuple& t) {
  set_tuple_tail(t, t.src_id, t.dst_id, t.family, t.proto, t.zone);
}

}  // namespace ctrack
