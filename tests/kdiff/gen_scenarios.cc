// Writes the kernel-diff scenario captures: `gen_scenarios DIR` writes all,
// `gen_scenarios --list` prints their names. A scenario that needs conntrack
// sysctls also gets DIR/NAME.args with `--set NAME=VALUE` options.
//
// Client 192.0.2.1 / 2001:db8:1::1 (port 40000), server 198.51.100.2 /
// 2001:db8:2::2 (port 80). Sequence numbers follow the vectors of
// linux-tcp.md §11; packets are 10 ms apart unless a gap matters.
//
// Options in DIR/NAME.args are shell words (quotes allowed); `@DIR@` stands
// for DIR, where a scenario's ruleset is written as NAME.rules / NAME.rules6
// (iptables-save format).
#include <algorithm>
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
  std::string rules4, rules6;  // iptables-save / ip6tables-save text

  explicit Ctx(bool ipv6) : v6(ipv6) {
    c = v6 ? ep6("2001:db8:1::1", 40000) : ep4("192.0.2.1", 40000);
    s = v6 ? ep6("2001:db8:2::2", 80) : ep4("198.51.100.2", 80);
  }
  void add(Bytes b, std::int64_t gap = 10 * kMs) {
    t += gap;
    frames.push_back({t, std::move(b)});
  }
  // Client -> server / server -> client TCP segments.
  Bytes co(std::uint8_t f, std::uint32_t seq, std::uint32_t ack, std::string data = "",
           TcpOpts o = {}) {
    TcpSpec sp;
    sp.flags = f, sp.seq = seq, sp.ack = ack, sp.payload = std::move(data), sp.opts = std::move(o);
    return tcp(c, s, sp);
  }
  Bytes so(std::uint8_t f, std::uint32_t seq, std::uint32_t ack, std::string data = "",
           TcpOpts o = {}) {
    TcpSpec sp;
    sp.flags = f, sp.seq = seq, sp.ack = ack, sp.payload = std::move(data), sp.opts = std::move(o);
    return tcp(s, c, sp);
  }
  void o(std::uint8_t f, std::uint32_t seq, std::uint32_t ack, std::string data = "",
         std::int64_t gap = 10 * kMs) {
    add(co(f, seq, ack, std::move(data), syn_opts(f)), gap);
  }
  void r(std::uint8_t f, std::uint32_t seq, std::uint32_t ack, std::string data = "",
         std::int64_t gap = 10 * kMs) {
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

// One TCP connection with its own sequence numbers: `a` opens to `b`. Every
// data segment carries the current acknowledgement of the other side.
struct Conv {
  Ctx* x;
  Endpoint a, b;
  std::uint32_t aseq, bseq;  // next sequence number each side sends

  Conv(Ctx& ctx, Endpoint from, Endpoint to, std::uint32_t isn_a, std::uint32_t isn_b)
      : x(&ctx), a(from), b(to), aseq(isn_a), bseq(isn_b) {}
  void seg(bool from_a, std::uint8_t f, std::string data = "") {
    TcpSpec sp;
    sp.flags = f;
    sp.seq = from_a ? aseq : bseq;
    sp.ack = (f & ACK) ? (from_a ? bseq : aseq) : 0;
    sp.opts = Ctx::syn_opts(f);
    const auto n = static_cast<std::uint32_t>(data.size()) + ((f & (SYN | FIN)) ? 1 : 0);
    sp.payload = std::move(data);
    x->add(from_a ? tcp(a, b, sp) : tcp(b, a, sp));
    (from_a ? aseq : bseq) += n;
  }
  void open() {
    seg(true, SYN);
    seg(false, SYN | ACK);
    seg(true, ACK);
  }
  void a_says(std::string d) { seg(true, PSH | ACK, std::move(d)); }
  void b_says(std::string d) { seg(false, PSH | ACK, std::move(d)); }
  void close() {
    seg(true, FIN | ACK);
    seg(false, FIN | ACK);
    seg(true, ACK);
  }
};

// Splits an IP packet into fragments of `step` payload bytes (a multiple of
// 8), in the order given by `order` (indices; empty = in order). IPv6 gets
// a fragment header after the fixed header.
std::vector<Bytes> fragment(const Bytes& pkt, std::size_t step, std::uint32_t id,
                            std::vector<int> order = {}) {
  const bool v6 = (pkt[0] >> 4) == 6;
  const std::size_t hl = v6 ? 40 : static_cast<std::size_t>(pkt[0] & 0x0f) * 4;
  const Bytes payload(pkt.begin() + static_cast<std::ptrdiff_t>(hl), pkt.end());
  std::vector<Bytes> frags;
  for (std::size_t off = 0; off < payload.size(); off += step) {
    const std::size_t n = std::min(step, payload.size() - off);
    const bool more = off + n < payload.size();
    Bytes f(pkt.begin(), pkt.begin() + static_cast<std::ptrdiff_t>(hl));
    if (v6) {
      const std::uint8_t next = f[6];
      f[6] = 44;
      const std::uint16_t fo = static_cast<std::uint16_t>(off | (more ? 1 : 0));
      f.insert(f.end(),
               {next, 0, static_cast<std::uint8_t>(fo >> 8), static_cast<std::uint8_t>(fo & 0xff),
                static_cast<std::uint8_t>(id >> 24), static_cast<std::uint8_t>(id >> 16),
                static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id)});
      const std::size_t plen = 8 + n;
      f[4] = static_cast<std::uint8_t>(plen >> 8);
      f[5] = static_cast<std::uint8_t>(plen & 0xff);
    } else {
      const std::size_t total = hl + n;
      f[2] = static_cast<std::uint8_t>(total >> 8);
      f[3] = static_cast<std::uint8_t>(total & 0xff);
      f[4] = static_cast<std::uint8_t>(id >> 8);
      f[5] = static_cast<std::uint8_t>(id & 0xff);
      const std::uint16_t fo = static_cast<std::uint16_t>((off / 8) | (more ? 0x2000 : 0));
      f[6] = static_cast<std::uint8_t>(fo >> 8);
      f[7] = static_cast<std::uint8_t>(fo & 0xff);
    }
    f.insert(f.end(), payload.begin() + static_cast<std::ptrdiff_t>(off),
             payload.begin() + static_cast<std::ptrdiff_t>(off + n));
    if (!v6) fix_ipv4_checksum(f);
    frags.push_back(std::move(f));
  }
  if (order.empty()) return frags;
  std::vector<Bytes> out;
  for (int i : order) out.push_back(frags[static_cast<std::size_t>(i)]);
  return out;
}

// Sets the ECN codepoint (0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE) of an IPv4
// or IPv6 packet or fragment.
Bytes with_ecn(Bytes p, std::uint8_t ecn) {
  if ((p[0] >> 4) == 6) {
    p[1] = static_cast<std::uint8_t>((p[1] & ~0x30u) | (ecn << 4));
  } else {
    p[1] = static_cast<std::uint8_t>((p[1] & ~3u) | ecn);
    fix_ipv4_checksum(p);
  }
  return p;
}

std::string ip_text(const Endpoint& e) { return format_addr(e.addr, e.v6); }

// The seed chapter's firewall: new connections only from the inside
// (the client side), only ESTABLISHED and RELATED back in.
std::string seed_ruleset(bool v6) {
  return std::string(
             "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
             "-A FORWARD -m state --state ESTABLISHED,RELATED -j ACCEPT\n") +
         "-A FORWARD -s " + (v6 ? "2001:db8:1::/64" : "192.0.2.0/24") +
         " -m state --state NEW -j ACCEPT\nCOMMIT\n";
}

// An active-mode FTP session whose data connection (server port 20 to the
// client's announced port) is RELATED when the helper watches port 21. The
// PORT is the client's second segment: the kernel never parses the first
// segment of a direction.
void ftp_active(Ctx& x, const std::string& cmd, std::uint16_t data_port) {
  Endpoint cc = Ctx::ep(x.c, 40000), sc = Ctx::ep(x.s, 21);
  Conv ctl(x, cc, sc, 1000, 5000);
  ctl.open();
  ctl.b_says("220 ready\r\n");
  ctl.a_says("USER anonymous\r\n");
  ctl.b_says("331 password please\r\n");
  ctl.a_says(cmd);
  ctl.b_says("200 command okay\r\n");
  ctl.a_says("RETR file\r\n");
  Conv data(x, Ctx::ep(x.s, 20), Ctx::ep(x.c, data_port), 90000, 70000);
  data.open();
  data.a_says(std::string(200, 'd'));
  data.close();
  ctl.b_says("226 done\r\n");
  ctl.a_says("QUIT\r\n");
  ctl.close();
}

// Passive mode: the server announces a port, the client connects to it.
void ftp_passive(Ctx& x, const std::string& cmd, const std::string& reply,
                 std::uint16_t data_port) {
  Endpoint cc = Ctx::ep(x.c, 40000), sc = Ctx::ep(x.s, 21);
  Conv ctl(x, cc, sc, 1000, 5000);
  ctl.open();
  ctl.b_says("220 ready\r\n");
  ctl.a_says("USER anonymous\r\n");
  ctl.b_says("331 password please\r\n");
  ctl.a_says(cmd);
  ctl.b_says(reply);
  Conv data(x, Ctx::ep(x.c, 40001), Ctx::ep(x.s, data_port), 30000, 60000);
  data.open();
  ctl.a_says("RETR file\r\n");
  data.b_says(std::string(200, 'd'));
  data.close();
  ctl.b_says("226 done\r\n");
  ctl.close();
}

std::string dcc_addr(const Endpoint& e) {
  return std::to_string(static_cast<std::uint32_t>(e.addr.b[0]) << 24 |
                        static_cast<std::uint32_t>(e.addr.b[1]) << 16 |
                        static_cast<std::uint32_t>(e.addr.b[2]) << 8 | e.addr.b[3]);
}

// IRC DCC: the client offers a port in a PRIVMSG; a peer on the far side
// (not the IRC server) connects to it.
void irc_dcc(Ctx& x, const std::string& type_and_arg, std::uint16_t port) {
  Conv irc(x, Ctx::ep(x.c, 40000), Ctx::ep(x.s, 6667), 1000, 5000);
  irc.open();
  irc.a_says("NICK alice\r\nUSER alice 0 * :Alice\r\n");
  irc.b_says(":irc.example 001 alice :Welcome\r\n");
  irc.a_says("PRIVMSG bob :\1DCC " + type_and_arg + " " + dcc_addr(x.c) + " " +
             std::to_string(port) + "\1\r\n");
  Conv dcc(x, ep4("198.51.100.7", 45000), Ctx::ep(x.c, port), 80000, 20000);
  dcc.open();
  dcc.a_says("hello");
  dcc.close();
  irc.a_says("QUIT\r\n");
}

// TFTP: request to port 69; the server answers from a new port.
void tftp(Ctx& x, bool write) {
  const Endpoint c = Ctx::ep(x.c, 40020), s69 = Ctx::ep(x.s, 69), sd = Ctx::ep(x.s, 50001);
  const std::string req =
      std::string("\0", 1) + (write ? "\2" : "\1") + std::string("file.txt\0octet\0", 15);
  x.add(udp(c, s69, req));
  auto blk = [](char op, char n, std::string data = "") {
    return std::string("\0", 1) + op + std::string("\0", 1) + n + data;
  };
  if (write) {
    x.add(udp(sd, c, blk('\4', '\0')));
    x.add(udp(c, sd, blk('\3', '\1', std::string(100, 'w'))));
    x.add(udp(sd, c, blk('\4', '\1')));
  } else {
    x.add(udp(sd, c, blk('\3', '\1', std::string(100, 'r'))));
    x.add(udp(c, sd, blk('\4', '\1')));
  }
}

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
                 x.add(icmp(x.s.addr, x.c.addr, false, 18, 0,
                            icmp_echo_body(9, 1, std::string("\xff\xff\xff\0", 4))));
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

  // Helpers (linux-core.md §7). The port of every helper is given
  // explicitly, as today's kernel never attaches one by itself.
  v.push_back({"ftp-active-port", false, [](Ctx& x) {
                 x.args = "--helper ftp";
                 ftp_active(x, "PORT 192,0,2,1,156,65\r\n", 40001);
               }});
  v.push_back({"ftp-active-eprt", true, [](Ctx& x) {
                 x.args = "--helper ftp";
                 ftp_active(x,
                            std::string("EPRT |") + (x.v6 ? "2" : "1") + "|" + ip_text(x.c) +
                                "|40001|\r\n",
                            40001);
               }});
  v.push_back({"ftp-passive-pasv", false, [](Ctx& x) {
                 x.args = "--helper ftp";
                 ftp_passive(x, "PASV\r\n", "227 Entering Passive Mode (198,51,100,2,195,80)\r\n",
                             50000);
               }});
  v.push_back({"ftp-passive-epsv", true, [](Ctx& x) {
                 x.args = "--helper ftp";
                 ftp_passive(x, "EPSV\r\n", "229 Entering Extended Passive Mode (|||50000|)\r\n",
                             50000);
               }});
  // The FTP helper's edge cases (linux-core.md §7.4). A PORT that starts
  // right but does not parse is dropped by the helper (at confirm: the packet
  // still had its state); the client then resends it correctly at the same
  // sequence number (kernel 6.18 creates no expectation for that either).
  v.push_back({"ftp-port-malformed", false, [](Ctx& x) {
                 x.args = "--helper ftp";
                 Conv ctl(x, Ctx::ep(x.c, 40000), Ctx::ep(x.s, 21), 1000, 5000);
                 ctl.open();
                 ctl.b_says("220 ready\r\n");
                 ctl.a_says("USER anonymous\r\n");
                 ctl.b_says("331 password please\r\n");
                 const std::string bad = "PORT 192,0,2,1,156\r\n";
                 ctl.a_says(bad);
                 ctl.aseq -= static_cast<std::uint32_t>(bad.size());
                 ctl.a_says("PORT 192,0,2,1,156,65\r\n");
                 ctl.b_says("200 command okay\r\n");
               }});
  // A PORT naming a third host (FTP bounce): accepted, no expectation.
  v.push_back({"ftp-port-bounce", false, [](Ctx& x) {
                 x.args = "--helper ftp";
                 ftp_active(x, "PORT 203,0,113,9,156,65\r\n", 40001);
               }});
  // The first data segment of a direction is never parsed.
  v.push_back({"ftp-port-first-segment", false, [](Ctx& x) {
                 x.args = "--helper ftp";
                 Conv ctl(x, Ctx::ep(x.c, 40000), Ctx::ep(x.s, 21), 1000, 5000);
                 ctl.open();
                 ctl.a_says("PORT 192,0,2,1,156,65\r\n");
                 ctl.b_says("200 command okay\r\n");
                 Conv data(x, Ctx::ep(x.s, 20), Ctx::ep(x.c, 40001), 90000, 70000);
                 data.open();
               }});
  // The seed's ruleset with the helper: the malformed PORT is dropped by the
  // helper, not by a rule, and the verdicts must show it.
  v.push_back({"rules-seed-ftp-malformed", false, [](Ctx& x) {
                 x.rules4 = seed_ruleset(false);
                 x.args = "--helper ftp --rules @DIR@/rules-seed-ftp-malformed.rules";
                 Conv ctl(x, Ctx::ep(x.c, 40000), Ctx::ep(x.s, 21), 1000, 5000);
                 ctl.open();
                 ctl.b_says("220 ready\r\n");
                 ctl.a_says("USER anonymous\r\n");
                 ctl.a_says("PORT 192,0,2,1,156\r\n");
               }});
  v.push_back({"irc-dcc-send", false, [](Ctx& x) {
                 x.args = "--helper irc";
                 irc_dcc(x, "SEND file.bin", 40010);
               }});
  v.push_back({"irc-dcc-chat", false, [](Ctx& x) {
                 x.args = "--helper irc";
                 irc_dcc(x, "CHAT chat", 40011);
               }});
  v.push_back({"tftp-read", true, [](Ctx& x) {
                 x.args = "--helper tftp";
                 tftp(x, false);
               }});
  v.push_back({"tftp-write", true, [](Ctx& x) {
                 x.args = "--helper tftp";
                 tftp(x, true);
               }});
  v.push_back(
      {"amanda", true, [](Ctx& x) {
         x.args = "--helper amanda";
         const Endpoint c = Ctx::ep(x.c, 40030), s = Ctx::ep(x.s, 10080);
         x.add(udp(c, s, "Amanda 2.6 REQ HANDLE 000-00000001 SEQ 1\nSERVICE sendbackup\n"));
         x.add(udp(
             s, c,
             "Amanda 2.6 REP HANDLE 000-00000001 SEQ 1\nCONNECT DATA 50010 MESG 50011 INDEX 50012\n"
             "OPTIONS features=ffff;\n"));
         Conv d(x, Ctx::ep(x.c, 40031), Ctx::ep(x.s, 50010), 1000, 5000);
         d.open();
         d.b_says(std::string(100, 'a'));
       }});

  // Defragmentation (linux-core.md §9): a 3000-byte UDP query in 1480-byte
  // fragments (1232 on IPv6), then an unfragmented reply.
  v.push_back({"frag-udp-inorder", true, [](Ctx& x) {
                 Bytes q = udp(Ctx::ep(x.c, 5353), Ctx::ep(x.s, 53), std::string(3000, 'f'), false,
                               false, IpSpec{64, 77, false});
                 for (auto& f : fragment(q, x.v6 ? 1232 : 1480, 77)) x.add(f);
                 x.add(x.udp_s("reply"));
               }});
  v.push_back({"frag-udp-outoforder", true, [](Ctx& x) {
                 Bytes q = udp(Ctx::ep(x.c, 5353), Ctx::ep(x.s, 53), std::string(3000, 'f'), false,
                               false, IpSpec{64, 78, false});
                 for (auto& f : fragment(q, x.v6 ? 1232 : 1480, 78, {2, 0, 1})) x.add(f);
                 x.add(x.udp_s("reply"));
                 // The reply fragmented too, last fragment first.
                 Bytes r = udp(Ctx::ep(x.s, 53), Ctx::ep(x.c, 5353), std::string(2000, 'g'), false,
                               false, IpSpec{64, 79, false});
                 for (auto& f : fragment(r, 1232, 79, {1, 0})) x.add(f);
               }});

  // RFC 3168 5.3 on reassembly: ECT(0) + CE is reassembled (and marked CE),
  // Not-ECT + ECT(0) discards the datagram, ECT(1) + ECT(1) is reassembled.
  v.push_back({"frag-udp-ecn", true, [](Ctx& x) {
                 const std::size_t step = x.v6 ? 1232 : 1480;
                 const std::uint8_t ecn[3][2] = {{2, 3}, {0, 2}, {1, 1}};
                 for (std::uint16_t d = 0; d < 3; ++d) {
                   const auto id = static_cast<std::uint16_t>(81 + d);
                   Bytes q =
                       udp(Ctx::ep(x.c, static_cast<std::uint16_t>(5353 + d)), Ctx::ep(x.s, 53),
                           std::string(2000, 'e'), false, false, IpSpec{64, id, false});
                   auto frags = fragment(q, step, id);
                   for (std::size_t i = 0; i < frags.size(); ++i)
                     x.add(with_ecn(frags[i], ecn[d][i]));
                   x.add(udp(Ctx::ep(x.s, 53), Ctx::ep(x.c, static_cast<std::uint16_t>(5353 + d)),
                             "reply"));
                 }
               }});

  // A datagram "fragmented" into one piece: on IPv6 an atomic fragment
  // (fragment header, offset 0, no MF), which Linux still passes through
  // its reassembly queue; first alone, then with the identification of a
  // datagram whose first fragment is pending. On IPv4 the same packets are
  // plain datagrams (the identification only matters with MF or an offset).
  v.push_back({"frag-atomic", true, [](Ctx& x) {
                 Bytes a = udp(Ctx::ep(x.c, 5360), Ctx::ep(x.s, 53), std::string(200, 'a'), false,
                               false, IpSpec{64, 91, false});
                 x.add(fragment(a, 4096, 91)[0]);
                 x.add(udp(Ctx::ep(x.s, 53), Ctx::ep(x.c, 5360), "reply"));
                 Bytes big = udp(Ctx::ep(x.c, 5362), Ctx::ep(x.s, 53), std::string(3000, 'b'),
                                 false, false, IpSpec{64, 92, false});
                 x.add(fragment(big, x.v6 ? 1232 : 1480, 92)[0]);  // first fragment only
                 Bytes b = udp(Ctx::ep(x.c, 5361), Ctx::ep(x.s, 53), std::string(200, 'c'), false,
                               false, IpSpec{64, 92, false});
                 x.add(fragment(b, 4096, 92)[0]);
                 x.add(udp(Ctx::ep(x.s, 53), Ctx::ep(x.c, 5361), "reply"));
               }});

  // NOTRACK (linux-core.md §8): DNS untracked, other UDP tracked; an ICMP
  // error about the untracked flow is INVALID, not RELATED.
  v.push_back({"notrack-udp", true, [](Ctx& x) {
                 x.args = "--notrack \"udp dport 53\"";
                 Bytes q = x.udp_c("query");
                 x.add(q);
                 x.add(x.udp_s("reply"));
                 x.add(icmp_error(x.s.addr, x.c.addr, x.v6, x.v6 ? 1 : 3, x.v6 ? 4 : 3, q));
                 x.add(udp(Ctx::ep(x.c, 5353), Ctx::ep(x.s, 54), "other"));
                 x.add(udp(Ctx::ep(x.s, 54), Ctx::ep(x.c, 5353), "other reply"));
               }});
  // Only the client's direction is untracked: the server's SYN/ACK then
  // meets conntrack without an entry.
  v.push_back({"notrack-tcp-one-way", true, [](Ctx& x) {
                 x.args = "--notrack \"tcp dport 80\"";
                 x.open();
                 x.o(PSH | ACK, 1001, 5001, "data");
                 x.r(ACK, 5001, 1005);
               }});

  // Rulesets (iptables-save, restored in the router), verdicts compared.
  // The seed's ruleset over active FTP: with the helper the data connection
  // is RELATED and accepted; without it the server's SYN is NEW and dropped.
  v.push_back({"rules-seed-ftp-helper", false, [](Ctx& x) {
                 x.rules4 = seed_ruleset(false);
                 x.args = "--helper ftp --rules @DIR@/rules-seed-ftp-helper.rules";
                 ftp_active(x, "PORT 192,0,2,1,156,65\r\n", 40001);
               }});
  v.push_back({"rules-seed-ftp-nohelper", false, [](Ctx& x) {
                 x.rules4 = seed_ruleset(false);
                 x.args = "--rules @DIR@/rules-seed-ftp-nohelper.rules";
                 ftp_active(x, "PORT 192,0,2,1,156,65\r\n", 40001);
               }});
  v.push_back({"rules-invalid-drop", true, [](Ctx& x) {
                 const std::string r =
                     "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                     "-A FORWARD -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n";
                 (x.v6 ? x.rules6 : x.rules4) = r;
                 x.args = std::string(x.v6 ? "--rules6 @DIR@/rules-invalid-drop-v6.rules6"
                                           : "--rules @DIR@/rules-invalid-drop.rules");
                 x.open();
                 x.o(PSH | ACK, 1001001, 5001, "0123456789");  // out of window: INVALID
                 x.o(PSH | ACK, 1001, 5001, "ok");
                 x.r(ACK, 5001, 1003);
                 x.o(SYN | FIN, 2000, 0);  // invalid flags
               }});
  // linux-core.md §13 vector 22: CT --zone 5 on the client's UDP flow to
  // port 5353 only; the server's reply is in zone 0 and becomes a second,
  // separate NEW entry there.
  v.push_back({"rules-ct-zone", true, [](Ctx& x) {
                 const std::string r =
                     "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                     "-A PREROUTING -p udp --dport 5353 -j CT --zone 5\nCOMMIT\n";
                 (x.v6 ? x.rules6 : x.rules4) = r;
                 x.args = std::string(x.v6 ? "--rules6 @DIR@/rules-ct-zone-v6.rules6"
                                           : "--rules @DIR@/rules-ct-zone.rules");
                 const Endpoint a = Ctx::ep(x.c, 7000), b = Ctx::ep(x.s, 5353);
                 x.add(udp(a, b, "query"));
                 x.add(udp(b, a, "reply"));
                 x.add(udp(a, b, "query2"), 300 * kMs);
                 x.add(udp(b, a, "reply2"));
               }});
  v.push_back({"rules-inbound-syn-drop", true, [](Ctx& x) {
                 const std::string net = x.v6 ? "2001:db8:1::/64" : "192.0.2.0/24";
                 const std::string r =
                     "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                     "-A FORWARD -d " +
                     net +
                     " -p tcp --syn -m conntrack --ctstate NEW -j DROP\n"
                     "COMMIT\n";
                 (x.v6 ? x.rules6 : x.rules4) = r;
                 x.args = std::string(x.v6 ? "--rules6 @DIR@/rules-inbound-syn-drop-v6.rules6"
                                           : "--rules @DIR@/rules-inbound-syn-drop.rules");
                 x.open();
                 x.o(PSH | ACK, 1001, 5001, "hello");
                 x.r(PSH | ACK, 5001, 1006, "world");
                 // Unsolicited: the far side opens a connection inward, twice.
                 TcpSpec sp;
                 sp.flags = SYN, sp.seq = 777000, sp.opts = Ctx::syn_opts(SYN);
                 x.add(tcp(Ctx::ep(x.s, 40100), Ctx::ep(x.c, 22), sp));
                 x.add(tcp(Ctx::ep(x.s, 40100), Ctx::ep(x.c, 22), sp), 200 * kMs);
                 x.o(FIN | ACK, 1006, 5006);
                 x.r(FIN | ACK, 5006, 1007);
                 x.o(ACK, 1007, 5007);
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
      if (!x.rules4.empty()) std::ofstream(arg + "/" + name + ".rules") << x.rules4;
      if (!x.rules6.empty()) std::ofstream(arg + "/" + name + ".rules6") << x.rules6;
      ++written;
    }
  }
  if (arg != "--list")
    std::printf("gen_scenarios: wrote %d scenarios to %s\n", written, arg.c_str());
  return 0;
}
