// Basic vocabulary shared by every part of libctrack.
#pragma once

#include <cstdint>
#include <string_view>

namespace ctrack {

// Time is always supplied by the caller (capture timestamps in replay), in
// nanoseconds since an arbitrary epoch. The engine never reads a clock, so
// expiry is exact and reproducible.
using Timestamp = std::int64_t;
inline constexpr Timestamp kNsPerSec = 1'000'000'000;
constexpr Timestamp seconds(std::int64_t s) { return s * kNsPerSec; }

// The user-land state a rule would see (`-m state --state`, nft `ct state`).
enum class CtState : std::uint8_t { New, Established, Related, Invalid, Untracked };

// Which tuple of the entry the packet matched.
enum class Direction : std::uint8_t { Original = 0, Reply = 1 };

// Where the packet entered the stack: from the network (PREROUTING; checksums
// are verified) or generated locally (OUTPUT; checksums are never verified).
enum class Hook : std::uint8_t { Network, Local };

// Behaviour profile: `Linux` is today's kernel (6.18), `Classic` the 2.4-era
// ip_conntrack of the iptables tutorial ("The state machine").
enum class Profile : std::uint8_t { Linux, Classic };

std::string_view to_string(CtState s);    // "NEW", "ESTABLISHED", ...
std::string_view to_lower(CtState s);     // "new", "established", ...
std::string_view to_string(Direction d);  // "original" / "reply"
std::string_view to_string(Profile p);    // "linux" / "classic"

}  // namespace ctrack
