// Config: profiles, table sizing rules, sysctl names.
#include "ctrack/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace ctrack {
namespace {

constexpr std::uint64_t kMiB = 1ull << 20;
constexpr std::uint64_t kGiB = 1ull << 30;

TEST(ConfigSizing, LinuxBucketsFollowKernelRule) {
  // >4 GiB on 64-bit: 262144 buckets, max = buckets (linux-core.md §6.2).
  Config big = Config::for_profile_with_memory(Profile::Linux, 24 * kGiB);
  EXPECT_EQ(big.buckets, 262144u);
  EXPECT_EQ(big.max, 262144u);
  // 1..4 GiB: 65536.
  Config mid = Config::for_profile_with_memory(Profile::Linux, 2 * kGiB);
  EXPECT_EQ(mid.buckets, 65536u);
  EXPECT_EQ(mid.max, 65536u);
  // 512 MiB: 512M/16K/8 = 4096, a multiple of 512.
  Config small = Config::for_profile_with_memory(Profile::Linux, 512 * kMiB);
  EXPECT_EQ(small.buckets, 4096u);
  // Tiny: minimum 1024.
  Config tiny = Config::for_profile_with_memory(Profile::Linux, 16 * kMiB);
  EXPECT_EQ(tiny.buckets, 1024u);
  // 100 MiB: 800 -> min 1024.  300 MiB: 2400 -> rounded up to 2560.
  EXPECT_EQ(Config::for_profile_with_memory(Profile::Linux, 300 * kMiB).buckets, 2560u);
}

TEST(ConfigSizing, ExplicitHashsizeGivesEightTimesMax) {
  Config c = Config::for_profile_with_memory(Profile::Linux, 24 * kGiB, 1000);
  EXPECT_EQ(c.buckets, 1000u);
  EXPECT_EQ(c.max, 8000u);
}

TEST(ConfigSizing, ClassicIsEightEntriesPerBucket) {
  // The tutorial: 8192 entries per 128 MB.
  Config c = Config::for_profile_with_memory(Profile::Classic, 128 * kMiB);
  EXPECT_EQ(c.buckets, 1024u);
  EXPECT_EQ(c.max, 8192u);
  Config c32 = Config::for_profile_with_memory(Profile::Classic, 32 * kMiB);
  EXPECT_EQ(c32.buckets, 256u);
  EXPECT_EQ(c32.max, 2048u);
  Config big = Config::for_profile_with_memory(Profile::Classic, 24 * kGiB);
  EXPECT_EQ(big.buckets, 8192u);
  EXPECT_EQ(big.max, 65536u);
}

TEST(ConfigProfiles, LinuxDefaultsAre618) {
  Config c = Config::for_profile_with_memory(Profile::Linux, 24 * kGiB);
  EXPECT_EQ(c.tcp.syn_sent, 120u);
  EXPECT_EQ(c.tcp.syn_recv, 60u);
  EXPECT_EQ(c.tcp.established, 432000u);
  EXPECT_EQ(c.tcp.fin_wait, 120u);
  EXPECT_EQ(c.tcp.close_wait, 60u);
  EXPECT_EQ(c.tcp.last_ack, 30u);
  EXPECT_EQ(c.tcp.time_wait, 120u);
  EXPECT_EQ(c.tcp.close, 10u);
  EXPECT_EQ(c.tcp.max_retrans, 300u);
  EXPECT_EQ(c.tcp.unacknowledged, 300u);
  EXPECT_EQ(c.udp_timeout, 30u);
  EXPECT_EQ(c.udp_timeout_stream, 120u);
  EXPECT_EQ(c.icmp_timeout, 30u);
  EXPECT_EQ(c.icmpv6_timeout, 30u);
  EXPECT_EQ(c.generic_timeout, 600u);
  EXPECT_TRUE(c.checksum);
  EXPECT_TRUE(c.tcp_loose);
  EXPECT_FALSE(c.tcp_be_liberal);
  EXPECT_FALSE(c.tcp_ignore_invalid_rst);
  EXPECT_EQ(c.tcp_max_retrans, 3u);
}

TEST(ConfigProfiles, ClassicTimeoutsAreTheTutorials) {
  Config c = Config::for_profile_with_memory(Profile::Classic, 128 * kMiB);
  EXPECT_EQ(c.tcp.syn_sent, 120u);
  EXPECT_EQ(c.tcp.syn_recv, 60u);
  EXPECT_EQ(c.tcp.established, 5u * 24 * 3600);
  EXPECT_EQ(c.tcp.fin_wait, 120u);
  EXPECT_EQ(c.tcp.time_wait, 120u);
  EXPECT_EQ(c.tcp.close, 10u);
  EXPECT_EQ(c.tcp.close_wait, 12u * 3600);
  EXPECT_EQ(c.tcp.last_ack, 30u);
  EXPECT_EQ(c.udp_timeout, 30u);
  EXPECT_EQ(c.udp_timeout_stream, 180u);
  EXPECT_EQ(c.icmp_timeout, 30u);
  EXPECT_EQ(c.generic_timeout, 600u);
}

TEST(ConfigSysctl, AcceptsEverySpelling) {
  Config c;
  EXPECT_TRUE(c.set("net.netfilter.nf_conntrack_udp_timeout", "11"));
  EXPECT_EQ(c.udp_timeout, 11u);
  EXPECT_TRUE(c.set("nf_conntrack_udp_timeout", "12"));
  EXPECT_EQ(c.udp_timeout, 12u);
  EXPECT_TRUE(c.set("net.ipv4.netfilter.ip_conntrack_udp_timeout", "13"));
  EXPECT_EQ(c.udp_timeout, 13u);
  EXPECT_TRUE(c.set("ip_conntrack_udp_timeout", "14"));
  EXPECT_EQ(c.udp_timeout, 14u);
  EXPECT_TRUE(c.set("net/netfilter/nf_conntrack_udp_timeout", "15"));
  EXPECT_EQ(c.udp_timeout, 15u);
  EXPECT_TRUE(c.set("/proc/sys/net/netfilter/nf_conntrack_udp_timeout", "16"));
  EXPECT_EQ(c.udp_timeout, 16u);
  EXPECT_TRUE(c.set("net.ipv4.netfilter.ip_conntrack_tcp_timeout_established", "77"));
  EXPECT_EQ(c.tcp.established, 77u);
  EXPECT_TRUE(c.set("nf_conntrack_tcp_be_liberal", "1"));
  EXPECT_TRUE(c.tcp_be_liberal);
  EXPECT_TRUE(c.set("nf_conntrack_checksum", "0"));
  EXPECT_FALSE(c.checksum);
  EXPECT_TRUE(c.set("ip_conntrack_max", "99"));
  EXPECT_EQ(c.max, 99u);
  EXPECT_EQ(c.get("net.netfilter.nf_conntrack_max"), "99");
  EXPECT_EQ(c.get("nf_conntrack_tcp_timeout_established"), "77");
}

TEST(ConfigSysctl, RejectsUnknownNamesAndBadValues) {
  Config c;
  std::string err;
  EXPECT_FALSE(c.set("nf_conntrack_no_such_thing", "1", &err));
  EXPECT_NE(err.find("unknown sysctl"), std::string::npos);
  EXPECT_FALSE(c.set("nf_conntrack_udp_timeout", "abc", &err));
  EXPECT_NE(err.find("invalid value"), std::string::npos);
  EXPECT_FALSE(c.set("nf_conntrack_udp_timeout", "-5", &err));
  EXPECT_FALSE(c.set("nf_conntrack_buckets", "0", &err));
  EXPECT_EQ(c.udp_timeout, 30u);
  EXPECT_FALSE(c.get("bogus").has_value());
}

TEST(ConfigSysctl, EveryListedNameRoundTrips) {
  Config c;
  for (const std::string& n : Config::names()) {
    ASSERT_TRUE(c.set(n, "7")) << n;
    EXPECT_EQ(c.get(n), n.find("checksum") != std::string::npos ||
                                n.find("loose") != std::string::npos ||
                                n.find("liberal") != std::string::npos ||
                                n.find("invalid_rst") != std::string::npos
                            ? "1"
                            : "7")
        << n;
  }
}

TEST(ConfigSysctl, HelperModuleParameters) {
  Config c;
  EXPECT_EQ(c.irc_max_dcc_channels, 8u);  // the kernel's defaults
  EXPECT_EQ(c.irc_dcc_timeout, 300u);
  EXPECT_EQ(c.amanda_master_timeout, 300u);
  EXPECT_FALSE(c.ftp_loose);
  EXPECT_TRUE(c.set("nf_conntrack_irc.max_dcc_channels", "3"));
  EXPECT_EQ(c.irc_max_dcc_channels, 3u);
  EXPECT_TRUE(c.set("/sys/module/nf_conntrack_irc/parameters/dcc_timeout", "60"));
  EXPECT_EQ(c.irc_dcc_timeout, 60u);
  EXPECT_TRUE(c.set("nf_conntrack_amanda.master_timeout", "100"));
  EXPECT_EQ(c.amanda_master_timeout, 100u);
  EXPECT_TRUE(c.set("ip_conntrack_ftp.loose", "1"));  // the 2.4 module's name
  EXPECT_TRUE(c.ftp_loose);
  EXPECT_EQ(c.get("nf_conntrack_irc.max_dcc_channels"), "3");
  // nf_conntrack_irc refuses to load with 0 or more than 255 channels.
  std::string err;
  EXPECT_FALSE(c.set("nf_conntrack_irc.max_dcc_channels", "0", &err));
  EXPECT_NE(err.find("1..255"), std::string::npos) << err;
  EXPECT_FALSE(c.set("nf_conntrack_irc.max_dcc_channels", "256", &err));
  EXPECT_EQ(c.irc_max_dcc_channels, 3u);
  EXPECT_TRUE(Config::is_module_parameter("nf_conntrack_irc.dcc_timeout"));
  EXPECT_TRUE(Config::is_module_parameter("/sys/module/nf_conntrack_ftp/parameters/loose"));
  EXPECT_FALSE(Config::is_module_parameter("net.netfilter.nf_conntrack_udp_timeout"));
  EXPECT_FALSE(Config::is_module_parameter("net.ipv4.ipfrag_time"));
}

TEST(ConfigSysctl, FileErrorsNameFileAndLine) {
  Config c;
  std::string err;
  EXPECT_TRUE(
      c.load_sysctl_text("# comment\n; other\n\nnet.netfilter.nf_conntrack_udp_timeout = 42\n"
                         "-net.netfilter.unknown_but_ignored = 1\n",
                         "a.conf", &err))
      << err;
  EXPECT_EQ(c.udp_timeout, 42u);
  EXPECT_FALSE(c.load_sysctl_text("nf_conntrack_udp_timeout = 1\nbogus line\n", "b.conf", &err));
  EXPECT_EQ(err.rfind("b.conf:2:", 0), 0u) << err;
  EXPECT_FALSE(c.load_sysctl_text("\n\nnf_conntrack_nope = 1\n", "c.conf", &err));
  EXPECT_EQ(err.rfind("c.conf:3:", 0), 0u) << err;
  EXPECT_FALSE(c.load_sysctl_file("/nonexistent/sysctl.conf", &err));
  EXPECT_NE(err.find("/nonexistent/sysctl.conf"), std::string::npos);
}

}  // namespace
}  // namespace ctrack
