// Malformed TCP packets (linux-tcp.md §2) and first packets (§3.2, V11):
// header length, data offset, checksum, the flag whitelist, the table's
// verdict on a first packet, loose pickup.
#include <gtest/gtest.h>

#include <set>

#include "tcp_test_helpers.h"

namespace ctrack::tcptest {
namespace {

// The §2 whitelist, after masking ECE, CWR and PSH.
const std::set<int> kWhitelist = {SYN,       SYN | URG,       SYN | ACK, RST,      RST | ACK,
                                  FIN | ACK, FIN | ACK | URG, ACK,       ACK | URG};

bool whitelisted(int flags) { return kWhitelist.count(flags & ~(ECE | CWR | PSH)) != 0; }

// Every flag byte as the first packet of its own flow: non-whitelisted
// combinations are "invalid tcp flag combination"; whitelisted ones are
// judged by the table (SYN -> NEW, ACK-class -> pickup, the rest sIV).
TEST(TcpFlags, AllFlagBytesAsFirstPacket) {
  Flow f;
  for (int flags = 0; flags < 256; ++flags) {
    SCOPED_TRACE(flags);
    f.client.port = static_cast<std::uint16_t>(20000 + flags);
    const Result r = f.O(seg(static_cast<std::uint8_t>(flags), 1000, 1, 502));
    EXPECT_EQ(r.tcp_flags, flags);
    if (!whitelisted(flags)) {
      EXPECT_EQ(r.state, CtState::Invalid);
      EXPECT_EQ(r.reason, InvalidReason::TcpBadFlags);
      EXPECT_EQ(f.conn(), nullptr);
      continue;
    }
    const bool syn_only = (flags & (SYN | ACK)) == SYN;
    const bool ack_class = (flags & (SYN | FIN | RST)) == 0 && (flags & ACK);
    if (syn_only || ack_class) {
      EXPECT_EQ(r.state, CtState::New);
      ASSERT_NE(f.conn(), nullptr);
      EXPECT_EQ(f.state(), syn_only ? TcpState::SynSent : TcpState::Established);
      EXPECT_EQ(f.timeout(), syn_only ? 120 : 300);
      EXPECT_TRUE(f.unreplied());
    } else {
      EXPECT_EQ(r.state, CtState::Invalid);
      EXPECT_EQ(r.reason, InvalidReason::TcpInvalidState);
      EXPECT_EQ(f.conn(), nullptr);
    }
  }
}

// V11, the named cases.
TEST(TcpFlags, V11FirstPacketsThatNeverCreateAnEntry) {
  const std::uint8_t bad_flags[] = {FIN,       SYN | FIN,       SYN | RST,       SYN | FIN | RST,
                                    RST | FIN, RST | FIN | ACK, SYN | ACK | RST, URG,
                                    0,         FIN | PSH | URG, SYN | ACK | URG, RST | ACK | URG};
  for (std::uint8_t fl : bad_flags) {
    Flow f;
    const Result r = f.O(seg(fl, 1000, 1));
    EXPECT_EQ(r.state, CtState::Invalid) << int(fl);
    EXPECT_EQ(r.reason, InvalidReason::TcpBadFlags) << int(fl);
    EXPECT_TRUE(f.eng.entries().empty());
  }
  const std::uint8_t table_invalid[] = {SYN | ACK, FIN | ACK, RST, RST | ACK};
  for (std::uint8_t fl : table_invalid) {
    Flow f;
    const Result r = f.O(seg(fl, 1000, 1));
    EXPECT_EQ(r.state, CtState::Invalid) << int(fl);
    EXPECT_EQ(r.reason, InvalidReason::TcpInvalidState) << int(fl);
    EXPECT_TRUE(f.eng.entries().empty());
  }
}

TEST(TcpFlags, V11AcceptedFirstPackets) {
  for (std::uint8_t fl : {std::uint8_t(SYN), std::uint8_t(SYN | URG), std::uint8_t(SYN | ECE),
                          std::uint8_t(SYN | ECE | CWR)}) {
    Flow f;
    EXPECT_EQ(f.O(seg(fl, 1000)).state, CtState::New) << int(fl);
    EXPECT_EQ(f.state(), TcpState::SynSent);
    EXPECT_EQ(f.timeout(), 120);
  }
  for (std::uint8_t fl : {std::uint8_t(PSH | ACK), std::uint8_t(ACK | URG)}) {
    Flow f;
    EXPECT_EQ(f.O(data(fl, 1000, 5000, 5)).state, CtState::New) << int(fl);
    EXPECT_EQ(f.state(), TcpState::Established);
    EXPECT_EQ(f.timeout(), 300);
  }
}

TEST(TcpFlags, ValidFlagsInsideAFlow) {
  Flow f;
  f.open();
  // FIN+ACK+PSH and ACK+URG are fine; FIN alone is not.
  EXPECT_EQ(f.O(seg(ACK | URG, 1001, 5001, 502)).state, CtState::Established);
  Result r = f.R(seg(FIN, 5001, 1001));
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(r.reason, InvalidReason::TcpBadFlags);
  EXPECT_EQ(f.state(), TcpState::Established);
  r = f.O(seg(FIN | ACK | PSH, 1001, 5001, 502));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_EQ(f.state(), TcpState::FinWait);
}

TEST(TcpFlags, HeaderShorterThan20IsShortPacket) {
  Flow f;
  TcpSpec s = seg(SYN, 1000);
  s.truncate_l4_to = 12;
  const Result r = f.O(s);
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(r.reason, InvalidReason::TcpShortHeader);
  EXPECT_TRUE(f.eng.entries().empty());
  s.truncate_l4_to = 19;
  EXPECT_EQ(f.O(s).reason, InvalidReason::TcpShortHeader);
}

TEST(TcpFlags, BadDataOffsetIsTruncated) {
  for (int doff : {0, 4}) {
    Flow f;
    TcpSpec s = seg(SYN, 1000);
    s.doff_override = doff;
    const Result r = f.O(s);
    EXPECT_EQ(r.state, CtState::Invalid) << doff;
    EXPECT_EQ(r.reason, InvalidReason::TcpTruncated) << doff;
    EXPECT_TRUE(f.eng.entries().empty());
  }
  {
    // doff 15 claims 60 bytes of header with none present.
    Flow f;
    TcpSpec s = seg(SYN, 1000);
    s.doff_override = 15;
    const Result r = f.O(s);
    EXPECT_EQ(r.reason, InvalidReason::TcpTruncated);
  }
  {
    // doff 15 with 40 bytes of payload: a 60-byte header fits, so it is
    // accepted (the "options" are garbage and ignored).
    Flow f;
    TcpSpec s = seg(SYN, 1000);
    s.doff_override = 15;
    s.payload_len = 40;
    EXPECT_EQ(f.O(s).state, CtState::New);
  }
}

TEST(TcpFlags, BadChecksumOnlyWhenVerified) {
  TcpSpec s = seg(SYN, 1000);
  s.bad_checksum = true;
  {
    Flow f;
    const Result r = f.O(s);
    EXPECT_EQ(r.state, CtState::Invalid);
    EXPECT_EQ(r.reason, InvalidReason::TcpBadChecksum);
    EXPECT_TRUE(f.eng.entries().empty());
  }
  {
    Config c = linux_cfg();
    c.checksum = false;
    Flow f(c);
    EXPECT_EQ(f.O(s).state, CtState::New);
  }
  {
    // Locally generated packets are never checked.
    Flow f;
    EXPECT_EQ(f.O(s, Hook::Local).state, CtState::New);
  }
  {
    // Inside a flow too.
    Flow f;
    f.open();
    TcpSpec a = seg(ACK, 1001, 5001, 502);
    a.bad_checksum = true;
    const Result r = f.O(a);
    EXPECT_EQ(r.reason, InvalidReason::TcpBadChecksum);
  }
}

TEST(TcpFlags, ErrorOrderLengthBeforeChecksumBeforeFlags) {
  Flow f;
  TcpSpec s = seg(FIN, 1000);  // bad flags
  s.bad_checksum = true;
  EXPECT_EQ(f.O(s).reason, InvalidReason::TcpBadChecksum);
  s.doff_override = 4;
  EXPECT_EQ(f.O(s).reason, InvalidReason::TcpTruncated);
}

TEST(TcpFlags, IPv6SynIsTracked) {
  Flow f;
  f.client = test::ep6("fd00:99::2", 40000);
  f.server = test::ep6("fd00:99::3", 80);
  EXPECT_EQ(f.O(ws7sp(seg(SYN, 1000))).state, CtState::New);
  EXPECT_EQ(f.R(ws7sp(seg(SYN | ACK, 5000, 1001))).state, CtState::Established);
  EXPECT_EQ(f.O(seg(ACK, 1001, 5001, 502)).state, CtState::Established);
  EXPECT_EQ(f.state(), TcpState::Established);
  EXPECT_TRUE(f.assured());
  TcpSpec bad = seg(ACK, 1001, 5001, 502);
  bad.bad_checksum = true;
  EXPECT_EQ(f.O(bad).reason, InvalidReason::TcpBadChecksum);
}

}  // namespace
}  // namespace ctrack::tcptest
