// Shared fixtures for the TCP tracker tests: a client/server flow driven
// through the public Engine (client 10.99.0.2:40000, server 10.99.0.3:80, as
// the vectors of linux-tcp.md §11), plus a way to run TcpTracker directly on
// a hand-prepared Conn.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "ctrack/ctrack.h"
#include "parse/packet.h"
#include "proto/l4proto.h"
#include "proto/tcp_state_table.h"
#include "proto/tcp_tracker.h"
#include "support/packet_builder.h"

namespace ctrack::tcptest {

using test::ACK;
using test::CWR;
using test::ECE;
using test::FIN;
using test::PSH;
using test::RST;
using test::SYN;
using test::TcpOpts;
using test::TcpSpec;
using test::URG;

inline Config linux_cfg() {
  Config c = Config::for_profile(Profile::Linux);
  c.hash_seed = 1;
  return c;
}
inline Config classic_cfg() {
  Config c = Config::for_profile(Profile::Classic);
  c.hash_seed = 1;
  return c;
}

inline TcpSpec seg(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack = 0,
                   std::uint16_t win = 64240) {
  TcpSpec s;
  s.flags = flags;
  s.seq = seq;
  s.ack = ack;
  s.win = win;
  return s;
}
inline TcpSpec data(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, std::uint32_t len,
                    std::uint16_t win = 64240) {
  TcpSpec s = seg(flags, seq, ack, win);
  s.payload_len = len;
  return s;
}
// SYN options "WS7/SP" of the vectors.
inline TcpSpec ws7sp(TcpSpec s) {
  s.opts.wscale = 7;
  s.opts.sack_perm = true;
  return s;
}

inline Tuple tcp_tuple(const test::Endpoint& a, const test::Endpoint& b) {
  Tuple t;
  t.src = a.addr;
  t.dst = b.addr;
  t.src_id = a.port;
  t.dst_id = b.port;
  t.family = a.v6 ? kFamilyIPv6 : kFamilyIPv4;
  t.proto = kProtoTCP;
  return t;
}

// One TCP flow through the public engine.
class Flow {
 public:
  explicit Flow(const Config& cfg = linux_cfg()) : eng(cfg) {}

  Engine eng;
  test::Endpoint client = test::ep4("10.99.0.2", 40000);
  test::Endpoint server = test::ep4("10.99.0.3", 80);
  Timestamp now = seconds(1000);

  Result O(const TcpSpec& s, Hook hook = Hook::Network) { return send(client, server, s, hook); }
  Result R(const TcpSpec& s, Hook hook = Hook::Network) { return send(server, client, s, hook); }
  Result send(const test::Endpoint& a, const test::Endpoint& b, const TcpSpec& s,
              Hook hook = Hook::Network) {
    const test::Bytes bytes = test::tcp(a, b, s);
    return eng.process(bytes, now, hook);
  }
  void advance(std::int64_t secs) { now += seconds(secs); }

  Tuple orig() const { return tcp_tuple(client, server); }
  Tuple rev() const { return tcp_tuple(server, client); }
  // The entry of this flow (either tuple), or nullptr.
  const Conn* conn() const { return eng.find(orig()); }
  TcpState state() const {
    const Conn* c = conn();
    return c ? c->l4.tcp.state : TcpState::None;
  }
  // Exact timeout set on the entry, in seconds from `now` (-1: no entry,
  // -2: not a whole number of seconds).
  std::int64_t timeout() const {
    const Conn* c = conn();
    if (!c) return -1;
    const Timestamp d = c->expires - now;
    return d % kNsPerSec == 0 ? d / kNsPerSec : -2;
  }
  bool assured() const { return conn() && conn()->has(kStatusAssured); }
  bool unreplied() const { return conn() && !conn()->has(kStatusSeenReply); }

  // V1 #1-3: SYN (WS7/SP) / SYN-ACK (WS7/SP) / ACK win 502.
  void open() {
    ASSERT_EQ(O(ws7sp(seg(SYN, 1000))).state, CtState::New);
    ASSERT_EQ(R(ws7sp(seg(SYN | ACK, 5000, 1001))).state, CtState::Established);
    ASSERT_EQ(O(seg(ACK, 1001, 5001, 502)).state, CtState::Established);
    ASSERT_EQ(state(), TcpState::Established);
    ASSERT_TRUE(assured());
  }
};

// Runs TcpTracker directly on a Conn (for states no packet sequence reaches
// cheaply, and for the table sweep). The packet bytes live in `bytes`.
struct Direct {
  Config cfg = linux_cfg();
  Timestamp now = seconds(1000);
  test::Bytes bytes;
  Packet pkt;

  const Packet& parse(const test::Bytes& b) {
    bytes = b;
    EXPECT_EQ(parse_ip(bytes, pkt), InvalidReason::None);
    return pkt;
  }
  L4Ctx ctx(Hook hook = Hook::Network) const { return L4Ctx{cfg, now, hook}; }
};

}  // namespace ctrack::tcptest
