// String names of the public enums and of invalid reasons.
#include <array>

#include "ctrack/conn.h"
#include "ctrack/invalid_reason.h"
#include "ctrack/types.h"

namespace ctrack {

std::string_view to_string(CtState s) {
  static constexpr std::array<std::string_view, 5> kNames = {"NEW", "ESTABLISHED", "RELATED",
                                                             "INVALID", "UNTRACKED"};
  return kNames[static_cast<std::size_t>(s)];
}

std::string_view to_lower(CtState s) {
  static constexpr std::array<std::string_view, 5> kNames = {"new", "established", "related",
                                                             "invalid", "untracked"};
  return kNames[static_cast<std::size_t>(s)];
}

std::string_view to_string(Direction d) { return d == Direction::Original ? "original" : "reply"; }

std::string_view to_string(Profile p) { return p == Profile::Linux ? "linux" : "classic"; }

std::string_view reason_text(InvalidReason r) {
  switch (r) {
#define CTRACK_X(code, name, text) \
  case InvalidReason::name:        \
    return text;
    CTRACK_INVALID_REASONS(CTRACK_X)
#undef CTRACK_X
  }
  return "unknown reason";
}

std::string_view reason_name(InvalidReason r) {
  switch (r) {
#define CTRACK_X(code, name, text) \
  case InvalidReason::name:        \
    return #name;
    CTRACK_INVALID_REASONS(CTRACK_X)
#undef CTRACK_X
  }
  return "Unknown";
}

const char* tcp_state_name(TcpState s) {
  // Index 9 is printed as SYN_SENT2 (the uapi still calls the value LISTEN).
  static constexpr std::array<const char*, 10> kNames = {
      "NONE",       "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT",
      "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",       "SYN_SENT2"};
  auto i = static_cast<std::size_t>(s);
  return i < kNames.size() ? kNames[i] : "INVALID";
}

}  // namespace ctrack
