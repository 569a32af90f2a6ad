// Golden tests: fragmented datagrams of ../shared/corpus (Linux profile).
// Expectations from linux-core.md (LC) §9 (defragmentation at -400, before
// conntrack: fragments are held, the reassembled datagram is tracked once)
// and the frames as tcpdump shows them (corpus README "Fragments").
#include <set>

#include "golden/golden_util.h"

namespace ctrack::golden {
namespace {

constexpr auto NEW = CtState::New;
constexpr auto EST = CtState::Established;
constexpr auto O = Direction::Original;
constexpr auto R = Direction::Reply;

void expect_held(const Replay& rp, std::uint64_t n) {
  const FrameRecord& f = rp.at(n);
  EXPECT_EQ(f.frag, FragStatus::Held) << describe(f);
  EXPECT_EQ(f.reason, InvalidReason::FragmentHeld) << describe(f);
  EXPECT_FALSE(f.has_conn) << describe(f);
}

// Frames `held...` are held and `last` completes their datagram, whose
// tracking result is the reply to the query of frame `query`.
void expect_reply_datagram(const Replay& rp, std::uint64_t query, std::vector<std::uint64_t> held,
                           std::uint64_t last) {
  for (std::uint64_t h : held) {
    expect_held(rp, h);
    EXPECT_EQ(rp.at(h).datagram, rp.at(last).datagram) << "frame " << h;
  }
  const FrameRecord& f = rp.at(last);
  EXPECT_EQ(f.frag, FragStatus::Reassembled) << describe(f);
  EXPECT_EQ(f.frag_count, held.size() + 1) << describe(f);
  check(rp, {.frame = last, .state = EST, .dir = R, .unreplied = 0});
  EXPECT_EQ(f.conn_id, rp.at(query).conn_id) << "frame " << last << " answers frame " << query;
}

// ip-frag-dns-v4-v6-and-dns-tcp.pcap: DNSSEC answers from 193.24.227.238 in
// two IPv4 fragments (2-3, 11-12, 16-17, 41-42) and from
// 2001:470:765b::a25:53 in two IPv6 fragments (5-6, 8-9, 38-39), each after
// its query.
TEST(FragCorpus, DnsAnswersFragmentedOverV4AndV6AreTrackedOnceEach) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(linux_config());
  CTRACK_REPLAY(rp, engine, "ip-frag-dns-v4-v6-and-dns-tcp.pcap");
  ASSERT_EQ(rp.frames.size(), 66u);

  check(rp, {.frame = 1, .state = NEW, .dir = O, .unreplied = 1});
  expect_reply_datagram(rp, 1, {2}, 3);
  check(rp, {.frame = 4, .state = NEW, .dir = O});
  expect_reply_datagram(rp, 4, {5}, 6);
  expect_reply_datagram(rp, 7, {8}, 9);
  expect_reply_datagram(rp, 10, {11}, 12);
  expect_reply_datagram(rp, 15, {16}, 17);
  // 36 and 37: the same query twice, captured on the sender before checksum
  // offload ("bad udp cksum" in tcpdump -v): INVALID at PREROUTING (LC §2.1),
  // no entry. So the reassembled answer 38+39 (its checksum is right) is the
  // first packet of its flow: NEW, in its own original direction.
  check_invalid(rp, 36, InvalidReason::UdpBadChecksum);
  check_invalid(rp, 37, InvalidReason::UdpBadChecksum);
  expect_held(rp, 38);
  EXPECT_EQ(rp.at(39).frag, FragStatus::Reassembled);
  EXPECT_EQ(rp.at(39).datagram, rp.at(38).datagram);
  check(rp, {.frame = 39, .state = NEW, .dir = O, .unreplied = 1});
  EXPECT_EQ(describe(rp.at(39).conn_orig),
            describe(v6("2001:470:765b::a25:53", 53, "2001:470:1f0b:16b0:20c:29ff:fe7c:a4cb", 55729,
                        kProtoUDP)));
  // 40: the same offload artefact (tcpdump -vv: bad udp cksum): INVALID; the
  // reassembled answer 41+42 opens its own entry.
  check_invalid(rp, 40, InvalidReason::UdpBadChecksum);
  expect_held(rp, 41);
  EXPECT_EQ(rp.at(42).frag, FragStatus::Reassembled);
  check(rp, {.frame = 42, .state = NEW, .dir = O, .unreplied = 1});

  // Seven datagrams, seven distinct ids; nothing dropped, nothing left over.
  std::set<std::uint32_t> ids;
  for (const FrameRecord& f : rp.frames) {
    EXPECT_NE(f.frag, FragStatus::Dropped) << describe(f);
    if (f.frag == FragStatus::Reassembled) ids.insert(f.datagram);
  }
  EXPECT_EQ(ids.size(), 7u);
  EXPECT_EQ(engine.fragment_memory(false), 0u);
  EXPECT_EQ(engine.fragment_memory(true), 0u);
}

// ipv6-frag-dns-incomplete-and-complete.pcap: frame 4 is the last fragment
// (offset 2896, id 1) of a datagram whose first fragments never come: held,
// never tracked, gone after nf_conntrack_frag6_timeout (60 s). Frames 6-8 are
// a complete 3-fragment answer (id 2) to the query of frames 3 / 5.
TEST(FragCorpus, IncompleteV6DatagramIsNeverTracked) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(linux_config());
  CTRACK_REPLAY(rp, engine, "ipv6-frag-dns-incomplete-and-complete.pcap");
  ASSERT_EQ(rp.frames.size(), 8u);

  check(rp, {.frame = 1, .state = NEW, .dir = O});
  check(rp, {.frame = 2, .state = EST, .dir = R});
  check(rp, {.frame = 3, .state = NEW, .dir = O});
  expect_held(rp, 4);
  // The retransmitted query: still no answer seen, so NEW again (LC §0.2).
  check(rp, {.frame = 5, .state = NEW, .dir = O});
  expect_reply_datagram(rp, 3, {6, 7}, 8);
  EXPECT_NE(rp.at(4).datagram, rp.at(8).datagram);
  EXPECT_EQ(engine.entries().size(), 2u);

  // Frame 4's queue is all that is left, until 60 s after it arrived.
  EXPECT_GT(engine.fragment_memory(true), 0u);
  engine.expire(rp.at(4).ts + seconds(60) - 1);
  EXPECT_GT(engine.fragment_memory(true), 0u);
  engine.expire(rp.at(4).ts + seconds(60));
  EXPECT_EQ(engine.fragment_memory(true), 0u);
}

// ipv4-frag-udp-afs-with-icmp-unreach.pcap: 200 fragment packets (frames
// 125-364), 3- and 4-fragment AFS/RX datagrams to 131.151.32.21 in answer
// to its calls. Every fragment is held until the last one of its datagram,
// which is tracked (ESTABLISHED, reply) on the entry of the call.
TEST(FragCorpus, AfsDatagramsAreReassembledInVolume) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(linux_config());
  CTRACK_REPLAY(rp, engine, "ipv4-frag-udp-afs-with-icmp-unreach.pcap");
  ASSERT_EQ(rp.frames.size(), 601u);

  // 125-128: the first datagram (125 the first fragment, 126-128 the rest),
  // the answer to the call 131.151.32.21:7001 -> 131.151.1.146:7000 of 124.
  expect_reply_datagram(rp, 124, {125, 126, 127}, 128);
  EXPECT_EQ(describe(rp.at(128).conn_orig),
            describe(v4("131.151.32.21", 7001, "131.151.1.146", 7000, kProtoUDP)));

  std::uint64_t fragments = 0;
  std::uint64_t held = 0;
  std::set<std::uint32_t> datagrams;
  for (const FrameRecord& f : rp.frames) {
    if (f.frag == FragStatus::None) continue;
    ++fragments;
    EXPECT_GE(f.frame, 125u);
    EXPECT_LE(f.frame, 364u);
    EXPECT_NE(f.frag, FragStatus::Dropped) << describe(f);
    if (f.frag == FragStatus::Held) {
      ++held;
    } else {
      EXPECT_TRUE(f.frag_count == 3 || f.frag_count == 4) << describe(f);
      EXPECT_EQ(f.state, EST) << describe(f);
      EXPECT_EQ(f.direction, R) << describe(f);
      datagrams.insert(f.datagram);
    }
  }
  EXPECT_EQ(fragments, 200u);
  // Every fragment either waits for or completes its datagram, each once.
  EXPECT_EQ(fragments, held + datagrams.size());
  EXPECT_EQ(engine.fragment_memory(false), 0u);
}

}  // namespace
}  // namespace ctrack::golden
