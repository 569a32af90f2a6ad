// Registration of connection-tracking helpers. Adding a helper = one new
// src/helpers/<name>_helper.cc (see the contract in helper.h) plus one line
// appended at the END of CTRACK_HELPERS (ids = position + 1, stable when
// appending). X(HelperStruct)
#pragma once

#include <cstdint>

#include "helpers/helper.h"

#define CTRACK_HELPERS(X) \
  X(FtpHelper)            \
  X(IrcHelper)            \
  X(TftpHelper)           \
  X(AmandaHelper)

namespace ctrack {

CTRACK_HELPERS(CTRACK_DECLARE_HELPER)

// Helper ids as stored in Conn::helper and CtTemplate::helper (0 = none).
enum HelperId : std::uint8_t {
  kHelperNone = 0,
#define CTRACK_HELPER_ID(H) kHelperId_##H,
  CTRACK_HELPERS(CTRACK_HELPER_ID)
#undef CTRACK_HELPER_ID
  kHelperIdEnd
};

// Invokes `f.template operator()<Helper>()` for helper `id`; `none()` for 0
// or an unknown id. Compile-time dispatch: no indirect call per packet.
template <class F, class N>
decltype(auto) with_helper(std::uint8_t id, F&& f, N&& none) {
  switch (id) {
#define CTRACK_HELPER_CASE(H) \
  case kHelperId_##H:         \
    return f.template operator()<H>();
    CTRACK_HELPERS(CTRACK_HELPER_CASE)
#undef CTRACK_HELPER_CASE
    default:
      return none();
  }
}

}  // namespace ctrack
