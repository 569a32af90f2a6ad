#include "proto/tcp_options.h"

#include "parse/packet.h"
#include "proto/tcp_seq.h"
#include "proto/tcp_state_table.h"

namespace ctrack::tcp {
namespace {

constexpr std::uint8_t kOptEol = 0;
constexpr std::uint8_t kOptNop = 1;
constexpr std::uint8_t kOptWindow = 3;
constexpr std::uint8_t kOptSackPerm = 4;
constexpr std::uint8_t kOptSack = 5;
constexpr std::uint8_t kOptTimestamp = 8;
constexpr std::uint8_t kLenWindow = 3;
constexpr std::uint8_t kLenSackPerm = 2;
constexpr std::uint8_t kLenSackBase = 2;
constexpr std::uint8_t kLenSackBlock = 8;
constexpr std::uint8_t kLenTimestamp = 10;
constexpr std::uint32_t kLenTimestampAligned = 12;
constexpr std::uint8_t kMaxWindowScale = 14;

// Calls `on_option(kind, body, body_len)` for every well-formed option until
// it returns true or the area ends / turns malformed.
template <typename F>
void walk_options(const TcpOptionArea& area, F&& on_option) {
  const std::uint8_t* p = area.opts;
  std::int64_t left = area.len;
  while (left > 0) {
    const std::uint8_t kind = *p;
    if (kind == kOptEol) return;
    if (kind == kOptNop) {
      ++p;
      --left;
      continue;
    }
    // A kind byte needs its length byte, the length covers both, and an
    // option that runs past the area is not parsed.
    if (left < 2) return;
    const std::uint8_t size = p[1];
    if (size < 2 || size > left) return;
    if (on_option(kind, p + 2, static_cast<std::uint32_t>(size - 2))) return;
    p += size;
    left -= size;
  }
}

}  // namespace

void parse_syn_options(const TcpOptionArea& area, TcpDirState& state) {
  state.td_scale = 0;
  state.flags &= kDirBeLiberal;
  walk_options(area, [&](std::uint8_t kind, const std::uint8_t* body, std::uint32_t body_len) {
    if (kind == kOptSackPerm && body_len + 2 == kLenSackPerm) {
      state.flags |= kDirSackPerm;
    } else if (kind == kOptWindow && body_len + 2 == kLenWindow) {
      state.td_scale = body[0] > kMaxWindowScale ? kMaxWindowScale : body[0];
      state.flags |= kDirWindowScale;
    }
    return false;
  });
}

void scan_sack(const TcpOptionArea& area, std::uint32_t& sack) {
  if (area.len == 0) return;
  // Most segments carry only NOP,NOP,TIMESTAMP: no SACK to look for.
  if (area.len == kLenTimestampAligned && area.opts[0] == kOptNop && area.opts[1] == kOptNop &&
      area.opts[2] == kOptTimestamp && area.opts[3] == kLenTimestamp) {
    return;
  }
  walk_options(area, [&](std::uint8_t kind, const std::uint8_t* body, std::uint32_t body_len) {
    const std::uint32_t size = body_len + 2;
    if (kind != kOptSack || size < kLenSackBase + kLenSackBlock ||
        (size - kLenSackBase) % kLenSackBlock != 0) {
      return false;
    }
    // Each block is (left edge, right edge); only right edges matter.
    for (std::uint32_t i = 0; i < body_len; i += kLenSackBlock) {
      const std::uint32_t right = load_be32(body + i + 4);
      if (seq_after(right, sack)) sack = right;
    }
    return true;  // only the first SACK option counts
  });
}

}  // namespace ctrack::tcp
