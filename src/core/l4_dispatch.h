// Protocol dispatch: one switch, generated from the registration list, picks
// the tracker type at compile time. Each call site is a template instantiated
// per tracker, so the per-packet path has no indirect calls.
#pragma once

#include <cstdint>

#include "ctrack/tuple.h"
#include "proto/l4proto_list.h"

namespace ctrack {

// Invokes `f.template operator()<Tracker>()` for the tracker responsible for
// (family, proto); protocols without one go to GenericTracker.
template <class F>
decltype(auto) with_tracker(std::uint8_t family, std::uint8_t proto, F&& f) {
  switch (proto) {
#define CTRACK_L4_CASE(T)                          \
  case T::kProto:                                  \
    if (T::kFamily == 0 || T::kFamily == family) { \
      return f.template operator()<T>();           \
    }                                              \
    break;
    CTRACK_L4PROTOS(CTRACK_L4_CASE)
#undef CTRACK_L4_CASE
    default:
      break;
  }
  return f.template operator()<GenericTracker>();
}

inline bool invert_tuple(const Tuple& t, Tuple& out) {
  return with_tracker(t.family, t.proto, [&]<class T>() { return T::invert(t, out); });
}

}  // namespace ctrack
