// Sequence-number comparisons modulo 2^32 (the kernel's before()/after()).
#pragma once

#include <cstdint>

namespace ctrack::tcp {

// a is before b when the signed distance from b to a is negative.
constexpr bool seq_before(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::int32_t>(a - b) < 0;
}
constexpr bool seq_after(std::uint32_t a, std::uint32_t b) { return seq_before(b, a); }

}  // namespace ctrack::tcp
