// Writes the kernel-diff scenario captures: `gen_scenarios DIR` writes all,
// `gen_scenarios --list` prints their names. A scenario that needs conntrack
// sysctls also gets DIR/NAME.args with `--set NAME=VALUE` options.
//
// Client 192.0.2.1 / 2001:db8:1::1 (port 40000), server 198.51.100.2 /
// 2001:db8:2::2 (port 80). Sequence numbers follow the vectors of
// linux-tcp.md §11; packets are 10 ms apart unless a gap matters.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "support/packet_builder.h"

using namespace ctrack;
using namespace ctrack::test;

namespace {

constexpr std::int64_t kMs = 1'000'000;

struct Ctx {
  bool v6 = false;
  Endpoint c, s;
  std::vector<Frame> frames;
  std::int64_t t = 0;
  std::string args;

  explicit Ctx(bool ipv6) : v6(ipv6) {
    c = v6 ? ep6("2001:db8:1::1", 40000) : ep4("192.0.2.1", 40000);
    s = v6 ? ep6("2001:db8:2::2", 80) : ep4("198.51.100.2", 80);
  }
  void add(Bytes b, std::int64_t gap = 10 * kMs) {
    t += gap;
    frames.push_back({t, std::move(b)});
  }
  // Client -> server / server -> client TCP segments.
  Bytes co(std::uint8_t f, std::uint32_t seq, std::uint32_t ack, std::string data = "", TcpOpts o = {}) {
    TcpSpec sp;
    sp.flags = f, sp.seq = seq, sp.ack = ack, sp.payload = std::move(data), sp.opts = std::move(o);
    return tcp(c, s, sp);
  }
  Bytes so(std::uint8_t f, std::uint32_t seq, std::uint32_t ack, std::string data = "", TcpOpts o = {}) {
    TcpSpec sp;
    sp.flags = f, sp.seq = seq, sp.ack = ack, sp.payload = std::move(data), sp.opts = std::move(o);
    return tcp(s, c, sp);
  }
  void o(std::uint8_t f, std::uint32_t seq, std::uint32_t ack, std::string data = "", std::int64_t gap = 10 * kMs) {
    add(co(f, seq, ack, std::move(data), syn_opts(f)), gap);
  }
  void r(std::uint8_t f, std::uint32_t seq, std::uint32_t ack, std::string data = "", std::int64_t gap = 10 * kMs) {
    add(so(f, seq, ack, std::move(data), syn_opts(f)), gap);
  }
  static TcpOpts syn_opts(std::uint8_t f) {
    TcpOpts op;
    if (f & SYN) op.wscale = 7, op.sack_perm = true, op.mss = 1460;
    return op;
  }
  void open() {  // V1 #1-3
    o(SYN, 1000, 0);
    r(SYN | ACK, 5000, 1001);
    o(ACK, 1001, 5001);
  }
  Bytes udp_c(std::string_view p, bool bad = false) { return udp(ep(c, 5353), ep(s, 53), p, bad); }
  Bytes udp_s(std::string_view p) { return udp(ep(s, 53), ep(c, 5353), p); }
  static Endpoint ep(Endpoint e, std::uint16_t port) {
    e.port = port;
    return e;
  }
};

using Builder = std::function<void(Ctx&)>;
struct Scenario {
  std::string name;
  bool both_families;  // also written as NAME-v6
  Builder build;
};

std::vector<Scenario> scenarios() {
  std::vector<Scenario> v;
  v.push_back({"tcp-open-close-client", true, [](Ctx& x) {
                 x.open();
                 x.o(PSH | ACK, 1001, 5001, std::string(100, 'q'));
                 x.r(ACK, 5001, 1101);
                 x.o(FIN | ACK, 1101, 5001);
                 x.r(ACK, 5001, 1102);
                 x.r(FIN | ACK, 5001, 1102);
                 x.o(ACK, 1102, 5002);
               }});
  v.push_back({"tcp-open-close-server", true, [](Ctx& x) {
                 x.open();
                 x.r(PSH | ACK, 5001, 1001, std::string(50, 'r'));
                 x.o(ACK, 1001, 5051);
                 x.r(FIN | ACK, 5051, 1001);
                 x.o(ACK, 1001, 5052);
                 x.o(FIN | ACK, 1001, 5052);
                 x.r(ACK, 5052, 1002);
               }});
  v.push_back({"tcp-rst-refused", true, [](Ctx& x) {
                 x.o(SYN, 1000, 0);
                 x.r(RST | ACK, 0, 1001);
               }});
  v.push_back({"tcp-rst-after-data-exact", true, [](Ctx& x) {
                 x.open();
                 x.o(PSH | ACK, 1001, 5001, std::string(100, 'q'));
                 x.r(ACK, 5001, 1101);
                 x.r(RST, 5001, 0);
               }});
  v.push_back({"tcp-rst-after-data-inexact", true, [](Ctx& x) {
                 x.open();
                 x.o(PSH | ACK, 1001, 5001, std::string(100, 'q'));
                 x.r(ACK, 5001, 1101);
                 x.r(RST, 5101, 0);
               }});
  v.push_back({"tcp-syn-retransmit", true, [](Ctx& x) {
                 x.o(SYN, 1000, 0);
                 x.o(SYN, 1000, 0, "", 1000 * kMs);
                 x.r(SYN | ACK, 5000, 1001);
                 x.o(ACK, 1001, 5001);
               }});
  v.push_back({"tcp-synack-retransmit", true, [](Ctx& x) {
                 x.o(SYN, 1000, 0);
                 x.r(SYN | ACK, 5000, 1001);
                 x.r(SYN | ACK, 5000, 1001, "", 500 * kMs);
                 x.o(ACK, 1001, 5001);
               }});
  v.push_back({"tcp-simultaneous-open", true, [](Ctx& x) {
                 x.o(SYN, 1000, 0);
                 x.r(SYN, 5000, 0);
                 x.o(SYN | ACK, 1000, 5001);
                 x.r(SYN | ACK, 5000, 1001);
                 x.o(ACK, 1001, 5001);
                 x.r(ACK, 5001, 1001);
               }});
  v.push_back({"tcp-ack-pickup-loose", true, [](Ctx& x) {
                 x.o(ACK, 1000, 5000);
                 x.r(ACK, 5000, 1000);
                 x.o(ACK, 1000, 5000);
                 x.o(PSH | ACK, 5001000, 5000, "late");
               }});
  v.push_back({"tcp-ack-pickup-noloose", true, [](Ctx& x) {
                 x.args = "--set nf_conntrack_tcp_loose=0";
                 x.o(ACK, 1000, 5000);
                 x.r(ACK, 5000, 1000);
               }});
  v.push_back({"tcp-out-of-window", true, [](Ctx& x) {
                 x.open();
                 x.o(PSH | ACK, 1001001, 5001, "0123456789");
                 x.o(ACK, 1001, 105001);
                 x.o(PSH | ACK, 1001, 5001, "ok");
               }});
  v.push_back({"tcp-out-of-window-liberal", true, [](Ctx& x) {
                 x.args = "--set nf_conntrack_tcp_be_liberal=1";
                 x.open();
                 x.o(PSH | ACK, 1001001, 5001, "0123456789");
                 x.o(ACK, 1001, 105001);
               }});
  v.push_back({"tcp-flags-syn-fin", true, [](Ctx& x) { x.o(SYN | FIN, 1000, 0); }});
  v.push_back({"tcp-flags-syn-rst", true, [](Ctx& x) { x.o(SYN | RST, 1000, 0); }});
  v.push_back({"tcp-flags-none", true, [](Ctx& x) { x.o(0, 1000, 0); }});
  v.push_back({"tcp-flags-fin-no-ack", true, [](Ctx& x) {
                 x.o(FIN, 1000, 0);
                 x.open();
                 x.o(FIN, 1001, 0);
               }});
  v.push_back({"tcp-timewait-reopen", true, [](Ctx& x) {
                 x.open();
                 x.o(FIN | ACK, 1001, 5001);
                 x.r(FIN | ACK, 5001, 1002);
                 x.o(ACK, 1002, 5002);
                 x.o(SYN, 900000, 0);
                 x.r(SYN | ACK, 77000, 900001);
               }});
  v.push_back({"tcp-bad-checksum", true, [](Ctx& x) {
                 TcpSpec sp;
                 sp.flags = SYN, sp.seq = 1000, sp.bad_checksum = true;
                 x.add(tcp(x.c, x.s, sp));
                 x.o(SYN, 1000, 0);
               }});
  v.push_back({"udp-stream", true, [](Ctx& x) {
                 x.add(x.udp_c("query"));
                 x.add(x.udp_s("reply"));
                 x.add(x.udp_c("query2"), 300 * kMs);
                 x.add(x.udp_s("reply2"), 2200 * kMs);
                 x.add(x.udp_c("query3"));
               }});
  v.push_back({"udp-bad-checksum", true, [](Ctx& x) {
                 x.add(x.udp_c("query", true));
                 x.add(x.udp_c("query"));
               }});
  v.push_back({"icmp-echo", true, [](Ctx& x) {
                 const std::uint8_t req = x.v6 ? 128 : 8, rep = x.v6 ? 129 : 0;
                 x.add(icmp(x.c.addr, x.s.addr, x.v6, req, 0, icmp_echo_body(0x1234, 1, "ping")));
                 x.add(icmp(x.s.addr, x.c.addr, x.v6, rep, 0, icmp_echo_body(0x1234, 1, "ping")));
                 x.add(icmp(x.c.addr, x.s.addr, x.v6, req, 0, icmp_echo_body(0x1234, 2, "ping")));
                 x.add(icmp(x.s.addr, x.c.addr, x.v6, rep, 0, icmp_echo_body(0x1234, 2, "ping")));
                 // A reply nobody asked for.
                 x.add(icmp(x.s.addr, x.c.addr, x.v6, rep, 0, icmp_echo_body(0x4321, 1, "ping")));
               }});
  v.push_back({"icmp-timestamp", false, [](Ctx& x) {
                 const std::string ts(12, '\0');
                 x.add(icmp(x.c.addr, x.s.addr, false, 13, 0, icmp_echo_body(7, 1, ts)));
                 x.add(icmp(x.s.addr, x.c.addr, false, 14, 0, icmp_echo_body(7, 1, ts)));
               }});
  v.push_back({"icmp-address-mask", false, [](Ctx& x) {
                 const std::string mask(4, '\0');
                 x.add(icmp(x.c.addr, x.s.addr, false, 17, 0, icmp_echo_body(9, 1, mask)));
                 x.add(icmp(x.s.addr, x.c.addr, false, 18, 0, icmp_echo_body(9, 1, std::string("\xff\xff\xff\0", 4))));
               }});
  // ICMP errors come from the server side, addressed to the client whose
  // packet they quote (the kernel checks outer daddr == inner saddr).
  v.push_back({"icmp-unreach-tcp-syn", true, [](Ctx& x) {
                 Bytes syn = x.co(SYN, 1000, 0);
                 x.add(syn);
                 x.add(icmp_error(x.s.addr, x.c.addr, x.v6, x.v6 ? 1 : 3, x.v6 ? 4 : 3, syn));
               }});
  v.push_back({"icmp-unreach-udp", true, [](Ctx& x) {
                 Bytes q = x.udp_c("query");
                 x.add(q);
                 x.add(icmp_error(x.s.addr, x.c.addr, x.v6, x.v6 ? 1 : 3, x.v6 ? 4 : 3, q));
               }});
  v.push_back({"icmp-unreach-no-conn", true, [](Ctx& x) {
                 Bytes q = x.udp_c("never sent");
                 x.add(icmp_error(x.s.addr, x.c.addr, x.v6, x.v6 ? 1 : 3, x.v6 ? 4 : 3, q));
               }});
  v.push_back({"icmpv6-packet-too-big", false, [](Ctx& x6) {
                 Ctx x(true);
                 x.open();
                 Bytes big = x.co(PSH | ACK, 1001, 5001, std::string(1200, 'b'));
                 x.add(big);
                 x.add(icmp_error(x.s.addr, x.c.addr, true, 2, 0, big, -1, 1280));
                 x6.frames = x.frames;
               }});
  v.push_back({"generic-proto", true, [](Ctx& x) {
                 x.add(raw_ip(x.c.addr, x.s.addr, x.v6, 253, Bytes(16, 0xab)));
                 x.add(raw_ip(x.s.addr, x.c.addr, x.v6, 253, Bytes(16, 0xcd)));
                 x.add(raw_ip(x.c.addr, x.s.addr, x.v6, 253, Bytes(16, 0xab)));
               }});
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: gen_scenarios DIR | --list\n");
    return 2;
  }
  const std::string arg = argv[1];
  int written = 0;
  std::error_code ec;
  if (arg != "--list") std::filesystem::create_directories(arg, ec);
  for (const auto& sc : scenarios()) {
    for (int fam = 0; fam < (sc.both_families ? 2 : 1); ++fam) {
      const std::string name = sc.name + (fam ? "-v6" : "");
      if (arg == "--list") {
        std::printf("%s\n", name.c_str());
        continue;
      }
      Ctx x(fam == 1);
      sc.build(x);
      if (!write_pcap(arg + "/" + name + ".pcap", x.frames)) {
        std::fprintf(stderr, "cannot write %s/%s.pcap\n", arg.c_str(), name.c_str());
        return 1;
      }
      std::ofstream(arg + "/" + name + ".args") << x.args << "\n";
      ++written;
    }
  }
  if (arg != "--list") std::printf("gen_scenarios: wrote %d scenarios to %s\n", written, arg.c_str());
  return 0;
}
