// Defragmentation before tracking (linux-core.md §9; net/ipv4/ip_fragment.c,
// net/ipv4/inet_fragment.c, net/ipv6/netfilter/nf_conntrack_reasm.c): held
// fragments, the datagram tracked once when complete, RFC 5722 overlaps and
// duplicates, tiny first fragments, timeouts, and the memory threshold.
#include <gtest/gtest.h>

#include <string>

#include "l4_engine_fixture.h"

namespace ctrack::test {
namespace {

const Endpoint kC4 = ep4("192.0.2.10", 40000);
const Endpoint kS4 = ep4("198.51.100.20", 53);
const Endpoint kC6 = ep6("2001:db8:1::10", 40000);
const Endpoint kS6 = ep6("2001:db8:2::20", 53);

// L4 data bytes [from, to) of an unfragmented IPv4 packet `whole`, as one
// fragment (offset from/8, MF as given, DF cleared).
Bytes frag4(const Bytes& whole, std::uint32_t from, std::uint32_t to, bool mf) {
  const std::uint32_t ihl = (whole[0] & 0x0fu) * 4u;
  Bytes out(whole.begin(), whole.begin() + ihl);
  out.insert(out.end(), whole.begin() + ihl + from, whole.begin() + ihl + to);
  const std::uint32_t total = static_cast<std::uint32_t>(out.size());
  out[2] = static_cast<std::uint8_t>(total >> 8);
  out[3] = static_cast<std::uint8_t>(total);
  const std::uint16_t fo = static_cast<std::uint16_t>((mf ? 0x2000u : 0u) | (from / 8));
  out[6] = static_cast<std::uint8_t>(fo >> 8);
  out[7] = static_cast<std::uint8_t>(fo);
  fix_ipv4_checksum(out);
  return out;
}

// The same for IPv6: a fragment header (identification `id`) between the
// fixed header and bytes [from, to) of the original payload.
Bytes frag6(const Bytes& whole, std::uint32_t from, std::uint32_t to, bool mf,
            std::uint32_t id = 7) {
  Bytes out(whole.begin(), whole.begin() + 40);
  const std::uint8_t next = whole[6];
  out[6] = 44;
  const std::uint16_t fo = static_cast<std::uint16_t>((from / 8) << 3 | (mf ? 1u : 0u));
  const Bytes fh = {next,
                    0,
                    static_cast<std::uint8_t>(fo >> 8),
                    static_cast<std::uint8_t>(fo),
                    static_cast<std::uint8_t>(id >> 24),
                    static_cast<std::uint8_t>(id >> 16),
                    static_cast<std::uint8_t>(id >> 8),
                    static_cast<std::uint8_t>(id)};
  out.insert(out.end(), fh.begin(), fh.end());
  out.insert(out.end(), whole.begin() + 40 + from, whole.begin() + 40 + to);
  const std::uint32_t payload = static_cast<std::uint32_t>(out.size() - 40);
  out[4] = static_cast<std::uint8_t>(payload >> 8);
  out[5] = static_cast<std::uint8_t>(payload);
  return out;
}

// A 108-byte UDP datagram (8 header + 100 data) from the client.
Bytes query4(std::uint16_t ip_id = 0x1234) {
  IpSpec ip;
  ip.ip_id = ip_id;
  ip.df = false;
  return udp(kC4, kS4, std::string(100, 'q'), false, false, ip);
}
Bytes query6() { return udp(kC6, kS6, std::string(100, 'q')); }

class Defrag : public ::testing::Test {
 protected:
  Result send(std::int64_t at_ms, const Bytes& pkt, Hook hook = Hook::Network) {
    return e.send(at_ms, pkt, hook);
  }
  L4Engine e;
};

void expect_held(const Result& r) {
  EXPECT_EQ(r.frag, FragStatus::Held);
  EXPECT_EQ(r.reason, InvalidReason::FragmentHeld);
  EXPECT_EQ(r.conn, nullptr);
  EXPECT_NE(r.datagram, 0u);
}

void expect_new_udp(const Result& r, std::uint16_t count) {
  EXPECT_EQ(r.frag, FragStatus::Reassembled);
  EXPECT_EQ(r.frag_count, count);
  EXPECT_EQ(r.state, CtState::New);
  ASSERT_NE(r.conn, nullptr);
  ASSERT_TRUE(r.has_tuple);
  EXPECT_EQ(r.tuple.proto, kProtoUDP);
  EXPECT_EQ(r.tuple.src_id, 40000);
  EXPECT_EQ(r.tuple.dst_id, 53);
}

// ---- IPv4 ----

TEST_F(Defrag, V4InOrderIsHeldThenTrackedOnceAsOneDatagram) {
  const Bytes w = query4();
  const Result a = send(0, frag4(w, 0, 48, true));
  expect_held(a);
  const Result b = send(1, frag4(w, 48, 108, false));
  expect_new_udp(b, 2);
  EXPECT_EQ(b.datagram, a.datagram);
  EXPECT_EQ(e.engine.stats().created, 1u);
  EXPECT_EQ(e.engine.stats().invalid, 0u);
  EXPECT_EQ(e.engine.fragment_memory(false), 0u);
  // The unfragmented reply finds the one entry.
  const Result reply = send(2, udp(kS4, kC4, "answer"));
  EXPECT_EQ(reply.state, CtState::Established);
  EXPECT_EQ(reply.frag, FragStatus::None);
  EXPECT_EQ(e.engine.entries().size(), 1u);
}

// A TCP segment that arrives in fragments is tracked as the reassembled
// datagram: its Result says what it moved the entry from, as for any
// segment (the text output's "BEFORE->AFTER" once showed NONE here).
TEST_F(Defrag, V4ReassembledTcpSegmentReportsTheEntrysStateBefore) {
  const Endpoint c = ep4("192.0.2.10", 40000), s = ep4("198.51.100.20", 80);
  IpSpec ip;
  ip.df = false;
  send(0, tcp(c, s, {.flags = SYN, .seq = 100}, ip));
  send(1, tcp(s, c, {.flags = SYN | ACK, .seq = 900, .ack = 101}, ip));
  const Bytes data =
      tcp(c, s, {.flags = PSH | ACK, .seq = 101, .ack = 901, .payload = std::string(64, 'd')}, ip);
  expect_held(send(2, frag4(data, 0, 40, true)));
  const Result r = send(3, frag4(data, 40, 84, false));
  EXPECT_EQ(r.frag, FragStatus::Reassembled);
  ASSERT_NE(r.conn, nullptr);
  EXPECT_EQ(r.tcp_before, TcpState::SynRecv);
  EXPECT_EQ(r.conn->l4.tcp.state, TcpState::Established);
}

TEST_F(Defrag, V4OutOfOrderThreeFragments) {
  const Bytes w = query4();
  expect_held(send(0, frag4(w, 96, 108, false)));
  expect_held(send(1, frag4(w, 48, 96, true)));
  const Result r = send(2, frag4(w, 0, 48, true));
  expect_new_udp(r, 3);
  EXPECT_EQ(e.engine.entries().size(), 1u);
}

TEST_F(Defrag, V4ReassembledDatagramIsTheOriginal) {
  const Bytes w = query4();
  send(0, frag4(w, 48, 108, false));
  const Bytes first = frag4(w, 0, 48, true);
  const Reassembly ra =
      e.engine.reassemble(std::span<const std::uint8_t>(first.data(), first.size()), ms(1));
  ASSERT_EQ(ra.status, FragStatus::Reassembled);
  ASSERT_EQ(ra.l3.size(), w.size());
  Bytes got(ra.l3.begin(), ra.l3.end());
  // Identical but for DF (cleared by frag4; no fragment carried it) and the
  // header checksum.
  Bytes want = w;
  want[6] = 0;
  fix_ipv4_checksum(want);
  EXPECT_EQ(got, want);
  // track() on the datagram tracks it like any packet.
  const Result r = e.engine.process(ra.l3, ms(1));
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_EQ(r.frag, FragStatus::None);
}

TEST_F(Defrag, V4LargeDatagramSpanningManyChunksIsRebuiltByteForByte) {
  IpSpec ip;
  ip.df = false;
  std::string data(3000, ' ');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  const Bytes w = udp(kC4, kS4, data, false, false, ip);
  const std::uint32_t l4 = static_cast<std::uint32_t>(w.size() - 20);
  expect_held(send(0, frag4(w, 1480, 2960, true)));
  expect_held(send(1, frag4(w, 2960, l4, false)));
  const Bytes first = frag4(w, 0, 1480, true);
  const Reassembly ra =
      e.engine.reassemble(std::span<const std::uint8_t>(first.data(), first.size()), ms(2));
  ASSERT_EQ(ra.status, FragStatus::Reassembled);
  EXPECT_EQ(ra.frag_count, 3);
  Bytes want = w;
  want[6] = 0;
  fix_ipv4_checksum(want);
  EXPECT_EQ(Bytes(ra.l3.begin(), ra.l3.end()), want);
}

TEST_F(Defrag, V4PartialOverlapDiscardsTheWholeDatagram) {
  // Verified on 6.18 (§9.1): overlapping second fragment -> nothing forwarded, no entry.
  const Bytes w = query4();
  const Result a = send(0, frag4(w, 0, 48, true));
  const Result b = send(1, frag4(w, 40, 108, false));
  EXPECT_EQ(b.frag, FragStatus::Dropped);
  EXPECT_EQ(b.reason, InvalidReason::FragOverlap);
  EXPECT_TRUE(b.dropped);
  EXPECT_EQ(b.datagram, a.datagram);
  EXPECT_EQ(e.engine.fragment_memory(false), 0u);
  // The queue is gone: the proper last fragment starts a new one and waits.
  const Result c = send(2, frag4(w, 48, 108, false));
  expect_held(c);
  EXPECT_NE(c.datagram, a.datagram);
  EXPECT_TRUE(e.engine.entries().empty());
  EXPECT_EQ(e.engine.stats().invalid, 0u);
}

TEST_F(Defrag, V4ContainedDuplicateIsDroppedAndTheQueueKept) {
  const Bytes w = query4();
  const Result a = send(0, frag4(w, 0, 48, true));
  const Result dup = send(1, frag4(w, 16, 32, true));
  EXPECT_EQ(dup.frag, FragStatus::Dropped);
  EXPECT_EQ(dup.reason, InvalidReason::FragDuplicate);
  EXPECT_EQ(dup.datagram, a.datagram);
  const Result same = send(2, frag4(w, 0, 48, true));
  EXPECT_EQ(same.reason, InvalidReason::FragDuplicate);
  const Result r = send(3, frag4(w, 48, 108, false));
  expect_new_udp(r, 2);
  EXPECT_EQ(r.datagram, a.datagram);
}

TEST_F(Defrag, V4DuplicateIsJudgedPerRunOfConsecutiveFragments) {
  // inet_frag_queue_insert: fragments appended at the tail extend the last
  // run; one inserted in the middle is a run of its own. [0,16) [32,48)
  // [16,32) are three runs, so [0,48) overlaps rather than duplicates.
  const Bytes w = query4();
  send(0, frag4(w, 0, 16, true));
  send(1, frag4(w, 32, 48, true));
  expect_held(send(2, frag4(w, 16, 32, true)));
  EXPECT_EQ(send(3, frag4(w, 0, 48, true)).reason, InvalidReason::FragOverlap);
  // Appended in order, [0,16) [16,32) [32,48) are one run: [0,48) is a duplicate.
  const Bytes w2 = query4(0x4321);
  send(4, frag4(w2, 0, 16, true));
  send(5, frag4(w2, 16, 32, true));
  send(6, frag4(w2, 32, 48, true));
  EXPECT_EQ(send(7, frag4(w2, 0, 48, true)).reason, InvalidReason::FragDuplicate);
  expect_new_udp(send(8, frag4(w2, 48, 108, false)), 4);
}

TEST_F(Defrag, V4TinyFirstFragmentIsReassembledNormally) {
  // IPv4 has no minimum for the first fragment: 8 bytes of a TCP header.
  TcpSpec syn;
  syn.flags = SYN;
  syn.seq = 1000;
  IpSpec ip;
  ip.df = false;
  const Bytes w = tcp(ep4("192.0.2.10", 41000), ep4("198.51.100.20", 80), syn, ip);
  const std::uint32_t l4 = static_cast<std::uint32_t>(w.size() - 20);
  expect_held(send(0, frag4(w, 0, 8, true)));
  const Result r = send(1, frag4(w, 8, l4, false));
  EXPECT_EQ(r.frag, FragStatus::Reassembled);
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_EQ(r.tcp_flags, SYN);
}

TEST_F(Defrag, V4LoneNonFirstFragmentNeverTrackedAndExpiresAfterIpfragTime) {
  const Bytes w = query4();
  const Result a = send(0, frag4(w, 48, 108, false));
  expect_held(a);
  EXPECT_GT(e.engine.fragment_memory(false), 0u);
  const Bytes w2 = query4(0x5555);
  send(1000, frag4(w2, 48, 108, false));
  // 30 s (ipfrag_time) after its first fragment the queue is gone: the first
  // fragment of datagram `a` starts a new queue...
  const Result b = send(30000, frag4(w, 0, 48, true));
  expect_held(b);
  EXPECT_NE(b.datagram, a.datagram);
  // ...while 1 ms before its deadline the younger queue still completes.
  expect_new_udp(send(30999, frag4(w2, 0, 48, true)), 2);
  e.engine.expire(ms(90000));
  EXPECT_EQ(e.engine.fragment_memory(false), 0u);
}

TEST_F(Defrag, V4TimeoutFollowsTheSysctl) {
  ASSERT_TRUE(e.engine.set("net.ipv4.ipfrag_time", "5"));
  const Bytes w = query4();
  const Result a = send(0, frag4(w, 0, 48, true));
  const Result b = send(5000, frag4(w, 48, 108, false));
  expect_held(b);
  EXPECT_NE(b.datagram, a.datagram);
}

TEST_F(Defrag, V4KeyIncludesProtocolAndHook) {
  const Bytes w = query4(0x77);
  send(0, frag4(w, 0, 48, true));
  // Same addresses and id, other protocol: another queue.
  Bytes other = frag4(w, 48, 108, false);
  other[9] = 99;
  fix_ipv4_checksum(other);
  expect_held(send(1, other));
  // OUTPUT fragments use another defrag user than PREROUTING ones.
  expect_held(send(2, frag4(w, 48, 108, false), Hook::Local));
  expect_new_udp(send(3, frag4(w, 48, 108, false)), 2);
}

TEST_F(Defrag, V4InconsistentLastFragmentDiscardsTheQueue) {
  const Bytes w = query4();
  const Result a = send(0, frag4(w, 48, 108, false));
  // A second "last" fragment ending elsewhere: corrupt, whole queue dropped.
  const Result b = send(1, frag4(w, 48, 100, false));
  EXPECT_EQ(b.frag, FragStatus::Dropped);
  EXPECT_EQ(b.reason, InvalidReason::FragBadLength);
  EXPECT_EQ(e.engine.fragment_memory(false), 0u);
  const Result c = send(2, frag4(w, 0, 48, true));
  expect_held(c);
  EXPECT_NE(c.datagram, a.datagram);
}

TEST_F(Defrag, V4FloodStaysUnderTheHighThreshold) {
  Config cfg = test_config(Profile::Linux);
  cfg.ipfrag_high_thresh = 64 * 1024;
  L4Engine f(cfg);
  const Bytes w = query4();
  std::uint64_t dropped = 0;
  std::uint64_t peak = 0;
  for (std::uint16_t id = 1; id <= 500; ++id) {
    Bytes frag = frag4(w, 0, 48, true);
    frag[4] = static_cast<std::uint8_t>(id >> 8);
    frag[5] = static_cast<std::uint8_t>(id);
    fix_ipv4_checksum(frag);
    const Result r = f.send(id, frag);
    if (r.frag == FragStatus::Dropped) {
      EXPECT_EQ(r.reason, InvalidReason::FragMemoryLimit);
      ++dropped;
    }
    peak = std::max(peak, f.engine.fragment_memory(false));
  }
  EXPECT_GT(dropped, 400u);
  // The check comes before the queue: at most one queue + one fragment past it.
  EXPECT_LE(peak, 64u * 1024u + 200u + 4096u);
  EXPECT_TRUE(f.engine.entries().empty());
  // Once the queues time out, fragments are accepted again.
  const Bytes w2 = query4(0x9999);
  expect_held(f.send(31000, frag4(w2, 0, 48, true)));
  expect_new_udp(f.send(31001, frag4(w2, 48, 108, false)), 2);
}

// ---- IPv6 ----

TEST_F(Defrag, V6InOrderAndOutOfOrder) {
  const Bytes w = query6();
  const Result a = send(0, frag6(w, 0, 56, true));
  expect_held(a);
  const Result b = send(1, frag6(w, 56, 108, false));
  expect_new_udp(b, 2);
  EXPECT_EQ(b.datagram, a.datagram);
  EXPECT_EQ(e.engine.fragment_memory(true), 0u);

  const Bytes w2 = udp(ep6("2001:db8:1::10", 40001), kS6, std::string(100, 'r'));
  expect_held(send(2, frag6(w2, 56, 108, false, 8)));
  const Result c = send(3, frag6(w2, 0, 56, true, 8));
  EXPECT_EQ(c.frag, FragStatus::Reassembled);
  EXPECT_EQ(c.state, CtState::New);
  EXPECT_EQ(e.engine.entries().size(), 2u);
}

TEST_F(Defrag, V6ReassembledDatagramDropsTheFragmentHeader) {
  const Bytes w = query6();
  send(0, frag6(w, 56, 108, false));
  const Bytes first = frag6(w, 0, 56, true);
  const Reassembly ra =
      e.engine.reassemble(std::span<const std::uint8_t>(first.data(), first.size()), ms(1));
  ASSERT_EQ(ra.status, FragStatus::Reassembled);
  EXPECT_EQ(Bytes(ra.l3.begin(), ra.l3.end()), w);
}

// An IPv6 atomic fragment (fragment header, offset 0, no MF) still goes
// through the queue, as in Linux: alone it completes at once; with the
// identification of a pending datagram it contradicts that datagram's length
// and is discarded (kernel-checked: kdiff.frag-atomic-v6).
TEST_F(Defrag, V6AtomicFragmentIsQueuedAndCompletesAtOnce) {
  const Bytes w = query6();
  const Result r = send(0, frag6(w, 0, 108, false, 41));
  EXPECT_EQ(r.frag, FragStatus::Reassembled);
  EXPECT_EQ(r.frag_count, 1);
  EXPECT_EQ(r.state, CtState::New);
  // The same identification as a pending first fragment: discarded.
  const Bytes big = udp(kC6, ep6("2001:db8:2::20", 54), std::string(300, 'b'));
  expect_held(send(1, frag6(big, 0, 56, true, 42)));
  const Result a = send(2, frag6(udp(kC6, ep6("2001:db8:2::20", 55), "x"), 0, 9, false, 42));
  EXPECT_EQ(a.frag, FragStatus::Dropped);
  EXPECT_EQ(a.reason, InvalidReason::FragBadLength);
  EXPECT_EQ(e.engine.stats().entries, 1u);
}

// ECN codepoint of a fragment (IPv4 TOS / IPv6 traffic class, low 2 bits):
// 0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE.
Bytes with_ecn4(Bytes f, std::uint8_t ecn) {
  f[1] = static_cast<std::uint8_t>((f[1] & ~3u) | ecn);
  fix_ipv4_checksum(f);
  return f;
}
Bytes with_ecn6(Bytes f, std::uint8_t ecn) {
  f[1] = static_cast<std::uint8_t>((f[1] & ~0x30u) | (ecn << 4));
  return f;
}

// RFC 3168 5.3 as the kernel applies it on reassembly: every combination of
// two fragments' codepoints, IPv4 and IPv6. Not-ECT with anything
// ECN-capable discards the datagram; CE with ECT marks it CE; otherwise the
// first fragment's codepoint stays.
TEST_F(Defrag, EcnOfTheFragmentsDecidesTheDatagram) {
  struct Case {
    std::uint8_t first, second;
    bool dropped;
    std::uint8_t result;  // codepoint of the reassembled datagram
  };
  const Case cases[] = {
      {0, 0, false, 0}, {0, 1, true, 0},  {0, 2, true, 0},  {0, 3, true, 0},
      {1, 0, true, 0},  {1, 1, false, 1}, {1, 2, false, 1}, {1, 3, false, 3},
      {2, 0, true, 0},  {2, 1, false, 2}, {2, 2, false, 2}, {2, 3, false, 3},
      {3, 0, true, 0},  {3, 1, false, 3}, {3, 2, false, 3}, {3, 3, false, 3},
  };
  std::uint16_t id = 100;
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "ECN " << int(c.first) << "+" << int(c.second));
    for (bool v6 : {false, true}) {
      L4Engine eng;
      const Bytes w = v6 ? query6() : query4(++id);
      const Bytes a = v6 ? with_ecn6(frag6(w, 0, 56, true), c.first)
                         : with_ecn4(frag4(w, 0, 48, true), c.first);
      const Bytes b = v6 ? with_ecn6(frag6(w, 56, 108, false), c.second)
                         : with_ecn4(frag4(w, 48, 108, false), c.second);
      const Result r1 = eng.send(0, a);
      EXPECT_EQ(r1.frag, FragStatus::Held);
      const Reassembly ra =
          eng.engine.reassemble(std::span<const std::uint8_t>(b.data(), b.size()), ms(1));
      if (c.dropped) {
        EXPECT_EQ(ra.status, FragStatus::Dropped) << (v6 ? "v6" : "v4");
        EXPECT_EQ(ra.reason, InvalidReason::FragEcnMismatch);
        EXPECT_EQ(eng.engine.stats().entries, 0u);
        continue;
      }
      ASSERT_EQ(ra.status, FragStatus::Reassembled) << (v6 ? "v6" : "v4");
      const std::uint8_t got = v6 ? (ra.l3[1] >> 4) & 3u : ra.l3[1] & 3u;
      EXPECT_EQ(got, c.result) << (v6 ? "v6" : "v4");
      // The rewritten IPv4 header still checks out: the datagram is tracked.
      EXPECT_EQ(eng.engine.process(ra.l3, ms(1)).state, CtState::New) << (v6 ? "v6" : "v4");
    }
  }
}

TEST_F(Defrag, EcnMismatchThroughProcessReportsTheDrop) {
  const Bytes w = query4();
  expect_held(send(0, with_ecn4(frag4(w, 0, 48, true), 2)));
  const Result r = send(1, with_ecn4(frag4(w, 48, 108, false), 0));
  EXPECT_EQ(r.frag, FragStatus::Dropped);
  EXPECT_EQ(r.reason, InvalidReason::FragEcnMismatch);
  EXPECT_TRUE(r.dropped);
  EXPECT_EQ(r.conn, nullptr);
  EXPECT_EQ(e.engine.stats().entries, 0u);
}

TEST_F(Defrag, V6OverlapDiscardsDuplicateIsSwallowed) {
  const Bytes w = query6();
  const Result a = send(0, frag6(w, 0, 56, true));
  EXPECT_EQ(send(1, frag6(w, 8, 32, true)).reason, InvalidReason::FragDuplicate);
  const Result o = send(2, frag6(w, 48, 108, false));
  EXPECT_EQ(o.frag, FragStatus::Dropped);
  EXPECT_EQ(o.reason, InvalidReason::FragOverlap);
  EXPECT_EQ(o.datagram, a.datagram);
  EXPECT_EQ(e.engine.fragment_memory(true), 0u);
  expect_held(send(3, frag6(w, 56, 108, false)));
  EXPECT_TRUE(e.engine.entries().empty());
}

// A fragment held by Engine::reassemble (a caller that runs the raw table
// between defragmentation and conntrack, as `ctrack replay --notrack` does)
// is a packet like one held inside process(): it moves the clock and the
// periodic GC. It used not to, so with --notrack the GC reaped entries at
// other packets than without it (and than --threads, which admits every
// frame on its clock): the --stats "expired" counts disagreed.
TEST(DefragReassemble, HeldFragmentMovesTheClockAndTheGcAsThroughProcess) {
  L4Engine through_process, through_reassemble;
  for (L4Engine* e : {&through_process, &through_reassemble}) {
    for (std::uint16_t p = 0; p < 200; ++p) {
      e->send(0, udp(ep4("192.0.2.10", static_cast<std::uint16_t>(1000 + p)), kS4, "x"));
    }
  }
  // 40 s later (past the 30 s UDP timeout) only first fragments arrive, each
  // of another datagram, so every one is held.
  for (std::uint16_t k = 0; k < 3000; ++k) {
    const Bytes first = frag4(query4(static_cast<std::uint16_t>(k)), 0, 48, true);
    const std::int64_t at = 40'000 + k;
    expect_held(through_process.send(at, first));
    const Reassembly ra = through_reassemble.engine.reassemble(
        std::span<const std::uint8_t>(first.data(), first.size()), ms(at));
    EXPECT_EQ(ra.status, FragStatus::Held);
    ASSERT_EQ(through_reassemble.engine.stats().expired, through_process.engine.stats().expired)
        << "after fragment " << k;
  }
  EXPECT_GT(through_process.engine.stats().expired, 0u);  // the GC did reap
  EXPECT_EQ(through_reassemble.engine.stats().packets, through_process.engine.stats().packets);
}

TEST_F(Defrag, V6TinyFirstFragmentPassesUnreassembledAndIsInvalid) {
  // RFC 8200 §4.5: a first fragment without the whole TCP header is not
  // queued (nf_ct_frag6_gather returns 0); conntrack then finds no full
  // TCP header. The rest waits for a first fragment that never comes.
  TcpSpec syn;
  syn.flags = SYN;
  const Bytes w = tcp(ep6("2001:db8:1::10", 41000), ep6("2001:db8:2::20", 80), syn);
  const std::uint32_t l4 = static_cast<std::uint32_t>(w.size() - 40);
  const Result a = send(0, frag6(w, 0, 8, true));
  EXPECT_EQ(a.frag, FragStatus::None);
  EXPECT_EQ(a.state, CtState::Invalid);
  expect_held(send(1, frag6(w, 8, l4, false)));
  EXPECT_TRUE(e.engine.entries().empty());
}

TEST_F(Defrag, V6UnalignedNonLastFragmentKillsQueueAndPassesOn) {
  const Bytes w = query6();
  const Result a = send(0, frag6(w, 56, 108, false));
  // 20 bytes with MF: not a multiple of 8; the queue dies, the packet goes on as it is.
  const Result b = send(1, frag6(w, 0, 20, true));
  EXPECT_EQ(b.frag, FragStatus::None);
  EXPECT_EQ(e.engine.fragment_memory(true), 0u);
  const Result c = send(2, frag6(w, 0, 56, true));
  expect_held(c);
  EXPECT_NE(c.datagram, a.datagram);
}

TEST_F(Defrag, V6TimeoutIsFrag6Timeout) {
  const Bytes w = query6();
  const Result a = send(0, frag6(w, 0, 56, true));
  const Result b = send(60000, frag6(w, 56, 108, false));
  expect_held(b);
  EXPECT_NE(b.datagram, a.datagram);
  const Bytes w2 = udp(ep6("2001:db8:1::11", 40000), kS6, std::string(100, 'q'));
  send(61000, frag6(w2, 0, 56, true));
  expect_new_udp(send(120999, frag6(w2, 56, 108, false)), 2);
}

TEST_F(Defrag, V6FloodStaysUnderFrag6HighThresh) {
  L4Engine f;
  ASSERT_TRUE(f.engine.set("nf_conntrack_frag6_high_thresh", "32768"));
  const Bytes w = query6();
  std::uint64_t peak = 0;
  for (std::uint32_t id = 1; id <= 300; ++id) {
    f.send(id, frag6(w, 0, 56, true, id));
    peak = std::max(peak, f.engine.fragment_memory(true));
  }
  EXPECT_LE(peak, 32768u + 200u + 4096u);
  EXPECT_EQ(f.engine.fragment_memory(false), 0u);
}

TEST(DefragConfig, KernelDefaultsAndSysctlNames) {
  const Config c = Config::for_profile(Profile::Linux);
  EXPECT_EQ(c.get("net.ipv4.ipfrag_time"), "30");
  EXPECT_EQ(c.get("net.ipv4.ipfrag_high_thresh"), "4194304");
  EXPECT_EQ(c.get("net.ipv4.ipfrag_low_thresh"), "3145728");
  EXPECT_EQ(c.get("net.netfilter.nf_conntrack_frag6_timeout"), "60");
  EXPECT_EQ(c.get("net.netfilter.nf_conntrack_frag6_high_thresh"), "4194304");
  EXPECT_EQ(c.get("nf_conntrack_frag6_low_thresh"), "3145728");
  const auto names = Config::names();
  EXPECT_NE(std::find(names.begin(), names.end(), "net.ipv4.ipfrag_time"), names.end());
}

}  // namespace
}  // namespace ctrack::test
