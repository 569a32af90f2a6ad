// kernel-diff's comparison of one packet's records (src/kdiff/diff_report.cc)
// and its reading of /proc lines (src/kdiff/kernel_observer.cc): what counts
// as a divergence and what is within the harness's tolerances.
#include <gtest/gtest.h>

#include <string>

#include "kdiff/diff_report.h"
#include "kdiff/kernel_observer.h"

namespace ctrack::kdiff {
namespace {

KernelEntry udp_entry(std::int64_t timeout) {
  auto e = parse_proc_line(
      "ipv4     2 udp      17 " + std::to_string(timeout) +
      " src=192.0.2.1 dst=198.51.100.2 sport=7000 dport=53 [UNREPLIED] src=198.51.100.2 "
      "dst=192.0.2.1 sport=53 dport=7000 mark=0 zone=0 use=2");
  EXPECT_TRUE(e.has_value());
  return e.value_or(KernelEntry{});
}

PacketRecord record() {
  PacketRecord r;
  r.index = 1;
  r.kernel.state = CtState::New;
  r.ctrack.state = CtState::New;
  r.kernel.direction = Direction::Original;
  r.ctrack.direction = Direction::Original;
  return r;
}

std::string fields(const std::vector<Divergence>& d) {
  std::string s;
  for (const Divergence& x : d) s += x.field + " ";
  return s;
}

TEST(KdiffCompare, EqualTablesAndTimeoutsWithinTwoSeconds) {
  PacketRecord r = record();
  r.kernel.table = {udp_entry(30)};
  r.ctrack.table = {udp_entry(28)};
  EXPECT_TRUE(compare(r, AddressMap{}).empty());
  r.ctrack.table = {udp_entry(27)};
  EXPECT_EQ(fields(compare(r, AddressMap{})), "entry ");
}

TEST(KdiffCompare, EntryOnOneSideOnlyIsADivergenceUnlessAtItsExpiryInstant) {
  PacketRecord r = record();
  r.kernel.table = {udp_entry(30)};
  EXPECT_EQ(fields(compare(r, AddressMap{})), "missing-entry ");
  r.kernel.table = {udp_entry(0)};  // less than a second left: may be gone on the other side
  EXPECT_TRUE(compare(r, AddressMap{}).empty());
  r.kernel.table.clear();
  r.ctrack.table = {udp_entry(1)};
  EXPECT_EQ(fields(compare(r, AddressMap{})), "extra-entry ");
  r.ctrack.table = {udp_entry(0)};
  EXPECT_TRUE(compare(r, AddressMap{}).empty());
}

TEST(KdiffCompare, StateAndZoneDifferencesAreDivergences) {
  PacketRecord r = record();
  r.ctrack.state = CtState::Established;
  EXPECT_EQ(fields(compare(r, AddressMap{})), "state ");
  r = record();
  r.kernel.table = {udp_entry(30)};
  KernelEntry z = udp_entry(30);
  z.orig.zone = z.reply.zone = 5;
  r.ctrack.table = {z};
  EXPECT_EQ(fields(compare(r, AddressMap{})), "missing-entry extra-entry ");
}

TEST(KdiffProcLine, ZoneIsPartOfBothTuples) {
  auto e = parse_proc_line(
      "ipv4     2 udp      17 29 src=192.0.2.1 dst=198.51.100.2 sport=7000 dport=5353 [UNREPLIED] "
      "src=198.51.100.2 dst=192.0.2.1 sport=5353 dport=7000 mark=0 zone=5 use=2");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->orig.zone, 5);
  EXPECT_EQ(e->reply.zone, 5);
  EXPECT_EQ(e->orig.src_id, 7000);
  EXPECT_EQ(e->reply.dst_id, 7000);
  EXPECT_TRUE(e->unreplied);
  EXPECT_EQ(e->timeout, 29);
}

}  // namespace
}  // namespace ctrack::kdiff
