// Ruleset evaluation with the state machine: each match and target, the
// hook model (FORWARD / INPUT / OUTPUT, raw before conntrack), and what a
// drop does to the table (linux-core.md §0.2: an unconfirmed entry dropped by
// a rule is never inserted; conntrack has already updated an existing entry
// in PREROUTING before the filter table drops the packet).
#include "rules/rule_eval.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ctrack/engine.h"
#include "ctrack/expectation.h"
#include "rules/ruleset_parser.h"
#include "support/packet_builder.h"

namespace ctrack::rules {
namespace {

using test::ACK;
using test::Bytes;
using test::SYN;

const test::Endpoint kIn = test::ep4("192.0.2.10", 40000);  // inside client
const test::Endpoint kOut = test::ep4("203.0.113.5", 80);   // outside server
const test::Endpoint kFw = test::ep4("198.51.100.1", 22);   // the firewall itself

struct Fw {
  Ruleset rs;
  std::unique_ptr<RuleEvaluator> ev;
  Engine engine;
  Timestamp now = seconds(1);

  explicit Fw(const std::string& text, NetModel net = {}) {
    ParseError err;
    EXPECT_TRUE(parse_ruleset(text, "t.rules", rs, err)) << err.text();
    ev = std::make_unique<RuleEvaluator>(rs, std::move(net));
  }
  Decision send(const Bytes& p) {
    now += 1000000;
    return ev->process(engine, p, now);
  }
  const Rule* rule_of(const Decision& d) const { return ev->rule(d.where); }
  std::uint32_t line_of(const Decision& d) const {
    const Rule* r = rule_of(d);
    return r != nullptr ? r->line : 0;
  }
};

std::string filter(const std::string& forward, const std::string& policy = "DROP") {
  return "*filter\n:INPUT " + policy + " [0:0]\n:FORWARD " + policy + " [0:0]\n:OUTPUT " + policy +
         " [0:0]\n:USR - [0:0]\n" + forward + "COMMIT\n";
}
// Rules start at line 6 of filter().

const std::string kSeed = filter(
    "-A FORWARD -m conntrack --ctstate INVALID -j DROP\n"
    "-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT\n"
    "-A FORWARD -i lan -m state --state NEW -j ACCEPT\n");

NetModel lan_wan() {
  NetModel n;
  std::string e;
  EXPECT_TRUE(n.add_iface("lan=192.0.2.0/24", e)) << e;
  EXPECT_TRUE(n.add_iface("wan=0.0.0.0/0", e)) << e;
  return n;
}

Bytes syn(const test::Endpoint& a, const test::Endpoint& b, std::uint32_t seq = 1000) {
  return test::tcp(a, b, {.flags = SYN, .seq = seq});
}
Bytes synack(const test::Endpoint& a, const test::Endpoint& b, std::uint32_t seq,
             std::uint32_t ack) {
  return test::tcp(a, b, {.flags = SYN | ACK, .seq = seq, .ack = ack});
}

Tuple tuple_of(const test::Endpoint& a, const test::Endpoint& b, std::uint8_t proto) {
  Tuple t;
  t.src = a.addr;
  t.dst = b.addr;
  t.src_id = a.port;
  t.dst_id = b.port;
  t.proto = proto;
  return t;
}

TEST(RuleEval, SeedRulesetOutboundNewAndRepliesPassInboundSynDropped) {
  Fw fw(kSeed, lan_wan());
  Decision d = fw.send(syn(kIn, kOut));
  EXPECT_EQ(d.verdict, Verdict::Accept);
  EXPECT_EQ(d.path, Path::Forward);
  EXPECT_EQ(fw.line_of(d), 8u);
  d = fw.send(synack(kOut, kIn, 5000, 1001));
  EXPECT_EQ(d.verdict, Verdict::Accept);
  EXPECT_EQ(fw.line_of(d), 7u);
  EXPECT_EQ(d.ct.state, CtState::Established);
  // Unsolicited inbound SYN: NEW from wan, hits the policy, leaves no entry.
  const test::Endpoint evil = test::ep4("203.0.113.66", 5555);
  const test::Endpoint inside22 = test::ep4("192.0.2.20", 22);
  d = fw.send(syn(evil, inside22));
  EXPECT_EQ(d.verdict, Verdict::Drop);
  EXPECT_EQ(d.by, DecidedBy::Policy);
  EXPECT_EQ(d.ct.state, CtState::New);
  EXPECT_EQ(fw.engine.find(tuple_of(evil, inside22, kProtoTCP)), nullptr);
  EXPECT_NE(fw.engine.find(tuple_of(kIn, kOut, kProtoTCP)), nullptr);
  // The policy counted it; the rules counted theirs.
  const TableRules& tr = fw.rs.tables[0][1];
  EXPECT_EQ(tr.chains[tr.builtin[static_cast<int>(Hook::Forward)]].packets, 1u);
  EXPECT_EQ(tr.chains[1].rules[1].packets, 1u);
  EXPECT_EQ(tr.chains[1].rules[2].packets, 1u);
  EXPECT_EQ(tr.chains[1].rules[2].bytes, syn(kIn, kOut).size());
}

TEST(RuleEval, InvalidDroppedByCtstateInvalid) {
  Fw fw(kSeed, lan_wan());
  // A SYN/ACK with no SYN before it, then an ICMP echo reply without request.
  Decision d = fw.send(test::tcp(kOut, kIn, {.flags = ACK | test::RST, .seq = 1}));
  // A lone RST is INVALID for the TCP tracker (no entry to close).
  EXPECT_EQ(d.ct.state, CtState::Invalid);
  EXPECT_EQ(d.verdict, Verdict::Drop);
  EXPECT_EQ(fw.line_of(d), 6u);
  d = fw.send(test::icmp(kOut.addr, kIn.addr, false, 0, 0, test::icmp_echo_body(7, 1)));
  EXPECT_EQ(d.ct.state, CtState::Invalid);
  EXPECT_EQ(fw.line_of(d), 6u);
}

TEST(RuleEval, DropBeforeConfirmLeavesNoEntry) {
  Fw fw(filter("-A FORWARD -p udp --dport 53 -j DROP\n", "ACCEPT"));
  const test::Endpoint dns = test::ep4("203.0.113.53", 53);
  Decision d = fw.send(test::udp(kIn, dns, "q"));
  EXPECT_EQ(d.verdict, Verdict::Drop);
  EXPECT_EQ(d.ct.state, CtState::New);
  EXPECT_EQ(fw.engine.find(tuple_of(kIn, dns, kProtoUDP)), nullptr);
  EXPECT_EQ(fw.engine.stats().entries, 0u);
  // The next one is NEW again (nothing was remembered).
  d = fw.send(test::udp(kIn, dns, "q"));
  EXPECT_EQ(d.ct.state, CtState::New);
}

TEST(RuleEval, DroppedReplyStillUpdatesTheExistingEntry) {
  // Replies dropped in FORWARD: conntrack saw them in PREROUTING first, so
  // the entry has SEEN_REPLY and the next original packet is ESTABLISHED.
  Fw fw(filter("-A FORWARD -s 203.0.113.53 -j DROP\n", "ACCEPT"));
  const test::Endpoint dns = test::ep4("203.0.113.53", 53);
  EXPECT_EQ(fw.send(test::udp(kIn, dns, "q")).verdict, Verdict::Accept);
  const Decision d = fw.send(test::udp(dns, kIn, "r"));
  EXPECT_EQ(d.verdict, Verdict::Drop);
  EXPECT_EQ(d.ct.state, CtState::Established);
  const Conn* c = fw.engine.find(tuple_of(kIn, dns, kProtoUDP));
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->has(kStatusSeenReply));
  EXPECT_EQ(fw.send(test::udp(kIn, dns, "q2")).ct.state, CtState::Established);
}

TEST(RuleEval, HookModelInputOutputForward) {
  NetModel net;
  ASSERT_TRUE(net.add_local("198.51.100.1"));
  Fw fw(filter("-A INPUT -p tcp --dport 22 -j ACCEPT\n"
               "-A OUTPUT -m state --state ESTABLISHED -j ACCEPT\n"
               "-A FORWARD -j ACCEPT\n"),
        std::move(net));
  Decision d = fw.send(syn(kIn, kFw));
  EXPECT_EQ(d.path, Path::Input);
  EXPECT_EQ(d.verdict, Verdict::Accept);
  EXPECT_EQ(fw.line_of(d), 6u);
  d = fw.send(synack(kFw, kIn, 9000, 1001));
  EXPECT_EQ(d.path, Path::Output);
  EXPECT_EQ(d.verdict, Verdict::Accept);
  EXPECT_EQ(fw.line_of(d), 7u);
  // The firewall opening a connection itself: OUTPUT, NEW -> policy DROP.
  d = fw.send(syn(test::ep4("198.51.100.1", 50000), kOut));
  EXPECT_EQ(d.path, Path::Output);
  EXPECT_EQ(d.verdict, Verdict::Drop);
  EXPECT_EQ(d.by, DecidedBy::Policy);
  d = fw.send(syn(kIn, kOut));
  EXPECT_EQ(d.path, Path::Forward);
  EXPECT_EQ(fw.line_of(d), 8u);
}

TEST(RuleEval, RawNotrackMakesPacketsUntracked) {
  Fw fw(
      "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      "-A PREROUTING -p udp --dport 53 -j NOTRACK\n"
      "-A PREROUTING -p udp --dport 123 -j CT --notrack\n"
      "-A PREROUTING -p tcp --dport 21 -j NOTRACK\n"
      "-A PREROUTING -p tcp --dport 21 -j CT --helper ftp\nCOMMIT\n" +
      filter("-A FORWARD -m state --state UNTRACKED -j ACCEPT\n"));
  const test::Endpoint dns = test::ep4("203.0.113.53", 53);
  const test::Endpoint ntp = test::ep4("203.0.113.53", 123);
  Decision d = fw.send(test::udp(kIn, dns, "q"));
  EXPECT_TRUE(d.tmpl.notrack);
  EXPECT_EQ(d.ct.state, CtState::Untracked);
  EXPECT_EQ(d.verdict, Verdict::Accept);
  EXPECT_EQ(fw.engine.stats().entries, 0u);
  d = fw.send(test::udp(kIn, ntp, "t"));
  EXPECT_EQ(d.ct.state, CtState::Untracked);
  d = fw.send(syn(kIn, test::ep4("203.0.113.21", 21)));
  EXPECT_TRUE(d.tmpl.notrack);
  EXPECT_EQ(d.tmpl.helper, 0);  // the first CT/NOTRACK wins
  EXPECT_EQ(d.ct.state, CtState::Untracked);
  // The raw rules counted (and the walk went on after NOTRACK).
  EXPECT_EQ(fw.rs.tables[0][0].chains[0].rules[0].packets, 1u);
  EXPECT_EQ(fw.rs.tables[0][0].chains[0].rules[3].packets, 1u);
}

TEST(RuleEval, RawCtHelperAttachesHelper) {
  Fw fw(
      "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      "-A PREROUTING -p tcp --dport 21 -j CT --helper ftp\nCOMMIT\n" +
      filter("", "ACCEPT"));
  const test::Endpoint ftp = test::ep4("203.0.113.21", 21);
  Decision d = fw.send(syn(kIn, ftp));
  EXPECT_EQ(d.tmpl.helper, helper_id("ftp"));
  ASSERT_NE(d.ct.conn, nullptr);
  EXPECT_EQ(d.ct.conn->helper, helper_id("ftp"));
}

// linux-core.md §13 vector 22: CT --zone 5 on A->B udp/5353 puts the entry in
// zone 5; B's reply is not matched by the zone rule, so it is looked up in
// zone 0, does not see the zone-5 entry and is NEW there: two entries.
TEST(RuleEval, CtZoneSeparatesTheReplyIntoItsOwnEntry) {
  Fw fw(
      "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      "-A PREROUTING -p udp --dport 5353 -j CT --zone 5\nCOMMIT\n" +
      filter("", "ACCEPT"));
  const test::Endpoint a = test::ep4("192.0.2.10", 7000);
  const test::Endpoint b = test::ep4("203.0.113.5", 5353);
  Decision d = fw.send(test::udp(a, b, "q"));
  EXPECT_EQ(d.tmpl.zone, 5);
  EXPECT_EQ(d.ct.state, CtState::New);
  ASSERT_NE(d.ct.conn, nullptr);
  EXPECT_EQ(d.ct.conn->orig.zone, 5);
  d = fw.send(test::udp(b, a, "r"));
  EXPECT_EQ(d.tmpl.zone, 0);
  EXPECT_EQ(d.ct.state, CtState::New);
  EXPECT_EQ(d.ct.direction, Direction::Original);
  ASSERT_NE(d.ct.conn, nullptr);
  EXPECT_EQ(d.ct.conn->orig.zone, 0);
  EXPECT_EQ(fw.engine.stats().entries, 2u);
  // The next query is in zone 5 again and finds its own (still unreplied) entry.
  d = fw.send(test::udp(a, b, "q2"));
  EXPECT_EQ(d.ct.state, CtState::New);
  EXPECT_EQ(d.ct.direction, Direction::Original);
  EXPECT_EQ(d.ct.conn->orig.zone, 5);
  EXPECT_FALSE(d.ct.conn->has(kStatusSeenReply));
  EXPECT_EQ(fw.engine.stats().entries, 2u);
}

TEST(RuleEval, ConntrackMatchOptions) {
  Fw fw(filter(
      "-A FORWARD -m conntrack --ctstatus CONFIRMED -j LOG --log-prefix \"confirmed \"\n"
      "-A FORWARD -m conntrack --ctdir REPLY --ctstatus SEEN_REPLY -j LOG --log-prefix \"reply \"\n"
      "-A FORWARD -m conntrack --ctorigsrc 192.0.2.0/24 --ctorigdstport 80 --ctproto tcp -j LOG "
      "--log-prefix \"orig \"\n"
      "-A FORWARD -m conntrack --ctreplsrc 203.0.113.5 --ctrepldstport 40000 -j LOG --log-prefix "
      "\"repl \"\n"
      "-A FORWARD -m conntrack ! --ctstatus ASSURED -j LOG --log-prefix \"notassured \"\n"
      "-A FORWARD -j ACCEPT\n"));
  // First packet: not yet CONFIRMED (confirm comes after FORWARD).
  Decision d = fw.send(syn(kIn, kOut));
  ASSERT_EQ(d.log_count, 3);
  EXPECT_EQ(fw.ev->rule(d.logs[0])->target.log_prefix, "orig ");
  EXPECT_EQ(fw.ev->rule(d.logs[1])->target.log_prefix, "repl ");
  EXPECT_EQ(fw.ev->rule(d.logs[2])->target.log_prefix, "notassured ");
  d = fw.send(synack(kOut, kIn, 5000, 1001));
  ASSERT_EQ(d.log_count, 5);
  EXPECT_EQ(fw.ev->rule(d.logs[0])->target.log_prefix, "confirmed ");
  EXPECT_EQ(fw.ev->rule(d.logs[1])->target.log_prefix, "reply ");
}

TEST(RuleEval, CtstatusAndCtdirNeverMatchWithoutConntrack) {
  Fw fw(
      filter("-A FORWARD -m conntrack ! --ctstatus ASSURED -j ACCEPT\n"
             "-A FORWARD -m conntrack --ctdir ORIGINAL -j ACCEPT\n"
             "-A FORWARD -m conntrack --ctstate INVALID --ctorigsrc 10.9.9.9 -j REJECT\n"));
  const Decision d =
      fw.send(test::icmp(kOut.addr, kIn.addr, false, 0, 0, test::icmp_echo_body(7, 1)));
  EXPECT_EQ(d.ct.state, CtState::Invalid);
  // Verified on the kernel (linux-core.md §5.4): --ctstate decides alone.
  EXPECT_EQ(d.verdict, Verdict::Reject);
  EXPECT_EQ(fw.line_of(d), 8u);
}

TEST(RuleEval, SnatDnatNeverMatchWithoutNat) {
  Fw fw(filter("-A FORWARD -m conntrack --ctstate SNAT,DNAT -j DROP\n", "ACCEPT"));
  EXPECT_EQ(fw.send(syn(kIn, kOut)).verdict, Verdict::Accept);
}

TEST(RuleEval, PortsFlagsIcmpMultiport) {
  Fw fw(
      filter("-A FORWARD -p tcp --tcp-flags SYN,ACK SYN,ACK -j LOG --log-prefix synack\n"
             "-A FORWARD -p tcp ! --syn -m tcp --sport 80 -j DROP\n"
             "-A FORWARD -p tcp --sport 39000:41000 --dport 80 -j ACCEPT\n"
             "-A FORWARD -p udp -m multiport --ports 5353,1000:1100 -j ACCEPT\n"
             "-A FORWARD -p icmp --icmp-type echo-request -j ACCEPT\n"
             "-A FORWARD -p icmp --icmp-type 3/3 -j REJECT\n"));
  Decision d = fw.send(syn(kIn, kOut));
  EXPECT_EQ(fw.line_of(d), 8u);
  d = fw.send(synack(kOut, kIn, 1, 1001));
  EXPECT_EQ(d.log_count, 1);
  EXPECT_EQ(fw.line_of(d), 7u);
  EXPECT_EQ(fw.line_of(fw.send(test::udp(test::ep4("192.0.2.1", 1050), kOut, "x"))), 9u);
  EXPECT_EQ(fw.line_of(
                fw.send(test::udp(test::ep4("192.0.2.1", 5353), test::ep4("203.0.113.9", 7), "x"))),
            9u);
  EXPECT_EQ(fw.send(test::udp(test::ep4("192.0.2.1", 7), test::ep4("203.0.113.9", 8), "x")).by,
            DecidedBy::Policy);
  EXPECT_EQ(
      fw.line_of(fw.send(test::icmp(kIn.addr, kOut.addr, false, 8, 0, test::icmp_echo_body(1, 1)))),
      10u);
  const Decision r = fw.send(test::icmp(kIn.addr, kOut.addr, false, 3, 3, Bytes(28, 0)));
  EXPECT_EQ(r.verdict, Verdict::Reject);
  EXPECT_EQ(fw.rule_of(r)->target.reject_with, "icmp-port-unreachable");
}

TEST(RuleEval, AddressesInterfacesNegation) {
  Fw fw(filter("-A FORWARD ! -i lan -s 203.0.113.0/24 -j DROP\n"
               "-A FORWARD -o wa+ -d 203.0.113.5 -j ACCEPT\n"),
        lan_wan());
  EXPECT_EQ(fw.line_of(fw.send(syn(kOut, kIn))), 6u);
  EXPECT_EQ(fw.line_of(fw.send(syn(kIn, kOut))), 7u);
  EXPECT_EQ(fw.send(syn(kIn, test::ep4("203.0.113.6", 80))).by, DecidedBy::Policy);
}

TEST(RuleEval, JumpGotoReturnAndLogPrefixes) {
  Fw fw(
      filter(":SUB - [0:0]\n"
             "-A FORWARD -p tcp -j USR\n"
             "-A FORWARD -p udp -g SUB\n"
             "-A FORWARD -j ACCEPT\n"
             "-A USR -j LOG --log-prefix \"usr \"\n"
             "-A USR -p tcp --dport 443 -j DROP\n"
             "-A USR -j RETURN\n"
             "-A USR -j DROP\n"
             "-A SUB -j LOG --log-prefix \"sub \"\n"));
  // tcp: USR logs, RETURNs, FORWARD rule 3 accepts.
  Decision d = fw.send(syn(kIn, kOut));
  EXPECT_EQ(d.verdict, Verdict::Accept);
  EXPECT_EQ(fw.line_of(d), 9u);
  ASSERT_EQ(d.log_count, 1);
  EXPECT_EQ(fw.ev->rule(d.logs[0])->target.log_prefix, "usr ");
  d = fw.send(syn(kIn, test::ep4("203.0.113.5", 443)));
  EXPECT_EQ(d.verdict, Verdict::Drop);
  EXPECT_EQ(fw.line_of(d), 11u);
  EXPECT_EQ(fw.ev->chain(d.where).name, "USR");
  // udp: goto SUB, whose end returns past FORWARD (goto pushed nothing):
  // the built-in chain's policy decides.
  d = fw.send(test::udp(kIn, kOut, "x"));
  EXPECT_EQ(d.verdict, Verdict::Drop);
  EXPECT_EQ(d.by, DecidedBy::Policy);
  ASSERT_EQ(d.log_count, 1);
  EXPECT_EQ(fw.ev->rule(d.logs[0])->target.log_prefix, "sub ");
}

TEST(RuleEval, LimitIsATokenBucketInPacketTime) {
  Fw fw(filter("-A FORWARD -m limit --limit 1/sec --limit-burst 2 -j ACCEPT\n"));
  int accepted = 0;
  for (int i = 0; i < 5; ++i)
    accepted += fw.send(test::udp(kIn, kOut, "x")).verdict == Verdict::Accept;
  EXPECT_EQ(accepted, 2);  // the burst, then 1 ms apart: no credit
  fw.now += seconds(1);
  EXPECT_EQ(fw.send(test::udp(kIn, kOut, "x")).verdict, Verdict::Accept);
}

TEST(RuleEval, NoRulesForTheFamilyAccepts) {
  Fw fw(kSeed);
  const Decision d =
      fw.send(test::udp(test::ep6("2001:db8::1", 1000), test::ep6("2001:db8::2", 53), "q"));
  EXPECT_EQ(d.verdict, Verdict::Accept);
  EXPECT_EQ(d.by, DecidedBy::NoRules);
}

TEST(RuleEval, Ipv6Rules) {
  Fw fw(
      "# Generated by ip6tables-save\n" +
      filter("-A FORWARD -p ipv6-icmp --icmpv6-type echo-request -s 2001:db8:1::/48 -j ACCEPT\n"));
  const Addr a = test::parse_addr("2001:db8:1::5");
  const Addr b = test::parse_addr("2001:db8:2::5");
  EXPECT_EQ(fw.send(test::icmp(a, b, true, 128, 0, test::icmp_echo_body(1, 1))).verdict,
            Verdict::Accept);
  EXPECT_EQ(fw.send(test::icmp(b, a, true, 128, 0, test::icmp_echo_body(1, 1))).verdict,
            Verdict::Drop);
}

}  // namespace
}  // namespace ctrack::rules
