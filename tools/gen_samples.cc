// Writes the sample captures shipped in samples/ (the README's walk-through).
// Deterministic: fixed timestamps, fixed sequence numbers, documentation
// addresses only (RFC 5737 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24;
// RFC 3849 2001:db8::/32), so regenerating gives byte-identical files
// (tests/unit/samples_test.cc checks that).
//
//   gen_samples [OUTDIR]     (default: samples)
#include <cstdio>
#include <string>
#include <vector>

#include "support/packet_builder.h"

namespace {

using namespace ctrack::test;
using ctrack::Addr;

// 2023-11-14 22:13:20 UTC: any fixed instant will do.
constexpr std::int64_t kBase = 1'700'000'000LL * 1'000'000'000LL;
constexpr std::int64_t us(std::int64_t micros) { return kBase + micros * 1000; }

// An ARP who-has: a frame that carries no IP, to show that the replay reports
// such frames as INVALID instead of skipping them.
Bytes arp_request(const char* sender_ip, const char* target_ip) {
  Bytes b{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06};
  const Bytes header{0, 1, 0x08, 0x00, 6, 4, 0, 1};  // Ethernet/IPv4, request
  b.insert(b.end(), header.begin(), header.end());
  const Bytes mac{0x02, 0, 0, 0, 0, 0x01};
  const Addr spa = parse_addr(sender_ip);
  const Addr tpa = parse_addr(target_ip);
  b.insert(b.end(), mac.begin(), mac.end());
  b.insert(b.end(), spa.b.begin(), spa.b.begin() + 4);
  b.insert(b.end(), 6, 0);
  b.insert(b.end(), tpa.b.begin(), tpa.b.begin() + 4);
  return b;
}

TcpSpec seg(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, std::uint16_t win = 502,
            std::string payload = "") {
  TcpSpec s;
  s.flags = flags;
  s.seq = seq;
  s.ack = ack;
  s.win = win;
  s.payload = std::move(payload);
  return s;
}

TcpSpec syn(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, std::uint16_t win) {
  TcpSpec s = seg(flags, seq, ack, win);
  s.opts.mss = 1460;
  s.opts.sack_perm = true;
  s.opts.wscale = 7;
  return s;
}

// One capture that walks through every kind of decision conntrack makes.
// The expected verdict of each packet is in the comment beside it and is
// asserted by samples_test.cc.
std::vector<Frame> walkthrough() {
  const Endpoint client = ep4("192.0.2.10", 40000);
  const Endpoint web = ep4("198.51.100.20", 80);
  std::vector<Frame> f;
  auto add = [&f](std::int64_t ts, const Bytes& l3) { f.push_back({ts, ethernet(l3)}); };

  // TCP: handshake, one request and answer, FIN teardown.
  add(us(0), tcp(client, web, syn(SYN, 1000, 0, 64240)));               // 1 NEW, NONE->SYN_SENT
  add(us(120), tcp(web, client, syn(SYN | ACK, 5000, 1001, 65160)));     // 2 ESTABLISHED reply, SYN_RECV
  add(us(240), tcp(client, web, seg(ACK, 1001, 5001)));                  // 3 ESTABLISHED, [ASSURED]
  add(us(400), tcp(client, web, seg(PSH | ACK, 1001, 5001, 502, "GET / HTTP/1.0\r\n\r\n")));  // 4
  add(us(10000), tcp(web, client, seg(PSH | ACK, 5001, 1019, 502,
                                      "HTTP/1.0 204 No Content\r\n\r\n")));  // 5 reply
  add(us(10100), tcp(client, web, seg(ACK, 1019, 5028)));                // 6
  add(us(10200), tcp(client, web, seg(FIN | ACK, 1019, 5028)));          // 7 FIN_WAIT
  add(us(10300), tcp(web, client, seg(FIN | ACK, 5028, 1020)));          // 8 LAST_ACK
  add(us(10400), tcp(client, web, seg(ACK, 1020, 5029)));                // 9 TIME_WAIT

  // Not IP at all: reported as INVALID, never silently skipped.
  f.push_back({us(20000), arp_request("192.0.2.10", "192.0.2.1")});     // 10 INVALID

  // A refused connection: the RST/ACK is ESTABLISHED (reply) and deletes the
  // entry, which never saw a reply before it.
  const Endpoint client2 = ep4("192.0.2.10", 40001);
  const Endpoint closed = ep4("198.51.100.20", 81);
  add(us(1'000'000), tcp(client2, closed, syn(SYN, 2000, 0, 64240)));   // 11 NEW
  add(us(1'000'100), tcp(closed, client2, seg(RST | ACK, 0, 2001, 0))); // 12 ESTABLISHED reply, CLOSE

  // UDP, DNS-like: query NEW, answer ESTABLISHED.
  const Endpoint resolver_client = ep4("192.0.2.10", 53000);
  const Endpoint resolver = ep4("198.51.100.53", 53);
  const std::string query("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                          "\x07" "example\x03" "com\x00\x00\x01\x00\x01", 29);
  std::string answer = query;
  answer[2] = '\x81';
  answer[3] = '\x80';
  answer[7] = '\x01';  // one answer record
  answer += std::string("\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xc0\x00\x02\x64", 16);
  add(us(2'000'000), udp(resolver_client, resolver, query));            // 13 NEW
  add(us(2'000'800), udp(resolver, resolver_client, answer));           // 14 ESTABLISHED reply

  // Ping: echo request NEW, echo reply ESTABLISHED.
  const Addr c4 = parse_addr("192.0.2.10");
  const Addr w4 = parse_addr("198.51.100.20");
  add(us(3'000'000), icmp(c4, w4, false, 8, 0, icmp_echo_body(0x1234, 1, "ping")));  // 15 NEW
  add(us(3'000'300), icmp(w4, c4, false, 0, 0, icmp_echo_body(0x1234, 1, "ping")));  // 16 ESTABLISHED

  // A SYN to an unreachable host and the router's ICMP host-unreachable
  // quoting it: RELATED (reply side); the SYN_SENT entry is left untouched.
  const Endpoint client3 = ep4("192.0.2.10", 40002);
  const Endpoint gone = ep4("203.0.113.99", 22);
  const Bytes lost_syn = tcp(client3, gone, syn(SYN, 3000, 0, 64240));
  add(us(4'000'000), lost_syn);                                          // 17 NEW
  add(us(4'000'500), icmp_error(parse_addr("198.51.100.1"), c4, false, 3, 1, lost_syn));  // 18 RELATED

  // SYN+FIN is not a valid flag combination: INVALID, no entry.
  const Endpoint client4 = ep4("192.0.2.10", 40003);
  add(us(4'500'000), tcp(client4, web, seg(SYN | FIN, 4000, 0, 64240)));  // 19 INVALID

  // A protocol without a tracker (99, "any private encryption scheme"):
  // generic tracking, one entry per address pair.
  const Addr other = parse_addr("198.51.100.30");
  const Bytes blob{0xde, 0xad, 0xbe, 0xef};
  add(us(5'000'000), raw_ip(c4, other, false, 99, blob));               // 20 NEW
  add(us(5'000'200), raw_ip(other, c4, false, 99, blob));               // 21 ESTABLISHED reply

  // IPv6 ping.
  const Addr c6 = parse_addr("2001:db8::10");
  const Addr w6 = parse_addr("2001:db8:1::20");
  add(us(6'000'000), icmp(c6, w6, true, 128, 0, icmp_echo_body(0xabcd, 1, "ping6")));  // 22 NEW
  add(us(6'000'400), icmp(w6, c6, true, 129, 0, icmp_echo_body(0xabcd, 1, "ping6")));  // 23 ESTABLISHED
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "samples";
  struct Sample {
    const char* name;
    std::vector<Frame> frames;
  };
  const Sample samples[] = {
      {"state-machine-walkthrough.pcap", walkthrough()},
  };
  for (const Sample& s : samples) {
    const std::string path = dir + "/" + s.name;
    // Frames are already framed (the ARP frame is not IP), so write them as
    // Ethernet (LINKTYPE_ETHERNET = 1) verbatim.
    if (!write_pcap_linktype(path, 1, s.frames)) {
      std::fprintf(stderr, "gen_samples: cannot write %s\n", path.c_str());
      return 1;
    }
    std::printf("%s: %zu packets\n", path.c_str(), s.frames.size());
  }
  return 0;
}
