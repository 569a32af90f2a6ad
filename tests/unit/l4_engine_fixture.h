// Shared by the UDP / UDP-Lite / ICMP / ICMPv6 / generic / ICMP-error tests:
// an Engine with a fixed hash seed driven with millisecond timestamps, the
// addresses of linux-core.md §13 (A client, B server, M a router beyond R),
// and expiry probes that look just before and at an entry's deadline.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <span>

#include "ctrack/ctrack.h"
#include "support/packet_builder.h"

namespace ctrack::test {

inline Timestamp ms(std::int64_t v) { return v * 1'000'000; }

inline const Addr kA = Addr::v4(10, 0, 1, 2);
inline const Addr kB = Addr::v4(10, 0, 2, 2);
inline const Addr kM = Addr::v4(10, 0, 2, 99);
inline const Addr kOther = Addr::v4(10, 0, 1, 7);
inline Addr a6() { return parse_addr("fd00:1::2"); }
inline Addr b6() { return parse_addr("fd00:2::2"); }
inline Addr m6() { return parse_addr("fd00:2::99"); }

inline Config test_config(Profile p) {
  Config c = Config::for_profile(p);
  c.hash_seed = 1;
  return c;
}

class L4Engine {
 public:
  explicit L4Engine(Profile p = Profile::Linux) : engine(test_config(p)) {}
  explicit L4Engine(const Config& c) : engine(c) {}

  Result send(std::int64_t at_ms, const Bytes& pkt, Hook hook = Hook::Network) {
    return engine.process(std::span<const std::uint8_t>(pkt.data(), pkt.size()), ms(at_ms), hook,
                          tmpl);
  }
  // Whether an entry with tuple `t` (either direction) is still alive after
  // garbage collection at `at_ms`. Time only moves forward.
  bool alive_at(std::int64_t at_ms, const Tuple& t) {
    engine.expire(ms(at_ms));
    return engine.find(t) != nullptr;
  }
  // Checks that the entry holding `t` dies exactly `secs` after `from_ms`:
  // present 1 ms before, gone at the deadline.
  void expect_expires(const Tuple& t, std::int64_t from_ms, std::int64_t secs) {
    const Conn* c = engine.find(t);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->expires, ms(from_ms) + seconds(secs));
    EXPECT_TRUE(alive_at(from_ms + secs * 1000 - 1, t)) << "expired early";
    EXPECT_FALSE(alive_at(from_ms + secs * 1000, t)) << "outlived its timeout";
  }
  Engine engine;
  CtTemplate tmpl{};  // what the raw table attaches to every packet send()s
};

inline Tuple make_tuple(const Addr& s, const Addr& d, bool v6, std::uint8_t proto,
                        std::uint16_t src_id, std::uint16_t dst_id) {
  Tuple t;
  t.src = s;
  t.dst = d;
  t.family = v6 ? kFamilyIPv6 : kFamilyIPv4;
  t.proto = proto;
  t.src_id = src_id;
  t.dst_id = dst_id;
  return t;
}

}  // namespace ctrack::test
