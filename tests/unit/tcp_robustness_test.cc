// Random TCP traffic and random option bytes: the tracker must never read
// out of bounds (run under the sanitizers), never store a sentinel state and
// always give an INVALID packet a reason.
#include <gtest/gtest.h>

#include <random>

#include "tcp_test_helpers.h"

namespace ctrack::tcptest {
namespace {

TEST(TcpRobustness, RandomSegmentsKeepInvariants) {
  std::mt19937 gen(12345);
  auto rng = [&gen] { return static_cast<std::uint32_t>(gen()); };
  const std::uint8_t flag_choices[] = {SYN, SYN | ACK, ACK,       FIN | ACK,
                                       RST, RST | ACK, PSH | ACK, 0};
  for (int run = 0; run < 20; ++run) {
    Config c = linux_cfg();
    c.tcp_be_liberal = run % 3 == 0;
    c.tcp_loose = run % 2 == 0;
    Flow f(c);
    std::uint32_t base[2] = {rng(), rng()};
    for (int i = 0; i < 400; ++i) {
      const int dir = static_cast<int>(rng() % 2);
      TcpSpec s = seg(flag_choices[rng() % 8], base[dir] + rng() % 3000 - 1000,
                      base[1 - dir] + rng() % 3000 - 1000, static_cast<std::uint16_t>(rng() % 3));
      if (rng() % 4 == 0) s.payload_len = rng() % 200;
      if (rng() % 5 == 0) s.opts.wscale = static_cast<int>(rng() % 20);
      if (rng() % 5 == 0) s.opts.sack_perm = true;
      if (rng() % 5 == 0) s.opts.sack = {{rng(), rng()}};
      if (rng() % 10 == 0) f.advance(static_cast<std::int64_t>(rng() % 30));
      // The entry as this packet finds it (gone once its timer ran out).
      const Conn* old = f.conn();
      const TcpState before =
          old != nullptr && old->expires > f.now ? old->l4.tcp.state : TcpState::None;
      const Result r = dir ? f.R(s) : f.O(s);
      if (r.state == CtState::Invalid) {
        EXPECT_NE(r.reason, InvalidReason::None);
      } else {
        EXPECT_EQ(r.tcp_before, before) << "run " << run << " packet " << i;
        ASSERT_NE(r.conn, nullptr);
        const int st = static_cast<int>(r.conn->l4.tcp.state);
        EXPECT_GE(st, 1);
        EXPECT_LE(st, 9);
      }
    }
  }
}

TEST(TcpRobustness, RandomOptionBytes) {
  std::mt19937 gen(777);
  auto rng = [&gen] { return static_cast<std::uint32_t>(gen()); };
  Flow f;
  for (int i = 0; i < 3000; ++i) {
    f.client.port = static_cast<std::uint16_t>(10000 + i);
    const std::uint32_t opt_len = 4 * (rng() % 11);  // 0..40 bytes
    TcpSpec s = seg(i % 2 ? SYN : SYN | ACK, rng(), rng());
    s.doff_override = static_cast<int>(5 + opt_len / 4);
    s.payload_len = opt_len;  // the "payload" bytes become the options
    test::Bytes b = test::tcp(f.client, f.server, s);
    // Fill what the header now claims as options with random bytes.
    const std::size_t l4 = 20;
    for (std::uint32_t k = 0; k < opt_len; ++k) b[l4 + 20 + k] = static_cast<std::uint8_t>(rng());
    const Result r = f.eng.process(b, f.now, Hook::Local);  // checksum not verified
    if (i % 2) {
      EXPECT_EQ(r.state, CtState::New);
      ASSERT_NE(f.conn(), nullptr);
      EXPECT_LE(f.conn()->l4.tcp.seen[0].td_scale, 14);
    } else {
      EXPECT_EQ(r.reason, InvalidReason::TcpInvalidState);
    }
  }
}

}  // namespace
}  // namespace ctrack::tcptest
