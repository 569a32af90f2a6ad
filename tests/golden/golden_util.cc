// Golden-test support (see golden_util.h).
#include "golden/golden_util.h"

#include <arpa/inet.h>

#include <filesystem>
#include <sstream>

#include "io/pcap_source.h"
#include "parse/link_layer.h"

namespace ctrack::golden {

std::string shared_dir() { return CTRACK_SHARED_DIR; }

std::string corpus_path(const std::string& name) { return shared_dir() + "/corpus/" + name; }

bool corpus_available() {
  std::error_code ec;
  return std::filesystem::is_directory(shared_dir() + "/corpus", ec);
}

Config linux_config() {
  Config c = Config::for_profile(Profile::Linux);
  c.hash_seed = 1;
  return c;
}

const FrameRecord& Replay::at(std::uint64_t frame) const {
  static const FrameRecord kMissing{};
  if (frame == 0 || frame > frames.size()) {
    ADD_FAILURE() << file << ": no frame " << frame << " (capture has " << frames.size() << ")";
    return kMissing;
  }
  return frames[frame - 1];
}

Replay replay(Engine& engine, const std::string& name) {
  Replay rp;
  rp.file = name;
  std::string err;
  auto src = PcapSource::open(corpus_path(name), &err);
  if (!src) {
    rp.error = "cannot open " + corpus_path(name) + ": " + err;
    return rp;
  }
  rp.linktype = src->linktype();
  CapturedFrame f;
  for (;;) {
    const PcapSource::Next n = src->next(f);
    if (n == PcapSource::Next::End) break;
    if (n == PcapSource::Next::Error) {
      rp.error = src->error();
      break;
    }
    FrameRecord r;
    r.frame = f.index;
    r.ts = f.ts;
    rp.last_ts = f.ts;
    const LinkResult lr = strip_link_layer(rp.linktype, f.data);
    if (lr.reason != InvalidReason::None) {
      r.is_ip = false;
      r.link_reason = lr.reason;
      r.entries_after = engine.entries().size();
      rp.frames.push_back(r);
      continue;
    }
    r.is_ip = true;
    const Result res = engine.process(f.data.subspan(lr.l3_offset), f.ts);
    r.state = res.state;
    r.direction = res.direction;
    r.reason = res.reason;
    r.dropped = res.dropped;
    r.destroyed = res.destroyed;
    r.frag = res.frag;
    r.datagram = res.datagram;
    r.frag_count = res.frag_count;
    if (res.conn != nullptr) {
      const Conn& c = *res.conn;
      r.has_conn = true;
      r.conn_id = c.id;
      r.conn_orig = c.orig;
      const char* sn = engine.state_name(c);
      r.proto_state = sn ? sn : "";
      if (c.proto() == kProtoTCP) r.tcp_state = tcp_state_name(c.l4.tcp.state);
      r.unreplied = !c.has(kStatusSeenReply);
      r.assured = c.has(kStatusAssured);
      r.timeout_left = res.destroyed ? -1 : engine.timeout_left(c);
      r.master = c.master;
      r.helper = c.helper;
    }
    r.helper_drop = res.helper_drop;
    r.entries_after = engine.entries().size();
    if (engine.expectation_count() != 0) r.expectations_after = engine.expectations();
    rp.frames.push_back(r);
  }
  return rp;
}

std::vector<TableRow> final_table(Engine& engine) {
  engine.expire(engine.now());
  std::vector<TableRow> rows;
  for (const Conn* c : engine.entries()) {
    TableRow r;
    r.orig = c->orig;
    const char* sn = engine.state_name(*c);
    r.proto_state = sn ? sn : "";
    if (c->proto() == kProtoTCP) r.tcp_state = tcp_state_name(c->l4.tcp.state);
    r.unreplied = !c->has(kStatusSeenReply);
    r.assured = c->has(kStatusAssured);
    r.timeout_left = engine.timeout_left(*c);
    rows.push_back(r);
  }
  return rows;
}

const TableRow* find_row(const std::vector<TableRow>& rows, const Tuple& orig) {
  for (const TableRow& r : rows)
    if (r.orig == orig) return &r;
  return nullptr;
}

namespace {

Addr addr4(const char* s) {
  in_addr a{};
  if (inet_pton(AF_INET, s, &a) != 1) ADD_FAILURE() << "bad IPv4 literal " << s;
  return Addr::from_bytes(reinterpret_cast<const std::uint8_t*>(&a), false);
}

Addr addr6(const char* s) {
  in6_addr a{};
  if (inet_pton(AF_INET6, s, &a) != 1) ADD_FAILURE() << "bad IPv6 literal " << s;
  return Addr::from_bytes(reinterpret_cast<const std::uint8_t*>(&a), true);
}

const char* state_text(CtState s) {
  switch (s) {
    case CtState::New: return "NEW";
    case CtState::Established: return "ESTABLISHED";
    case CtState::Related: return "RELATED";
    case CtState::Invalid: return "INVALID";
    case CtState::Untracked: return "UNTRACKED";
  }
  return "?";
}

}  // namespace

Tuple v4(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport, std::uint8_t proto) {
  Tuple t;
  t.src = addr4(src);
  t.dst = addr4(dst);
  t.src_id = sport;
  t.dst_id = dport;
  t.family = kFamilyIPv4;
  t.proto = proto;
  return t;
}

Tuple v6(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport, std::uint8_t proto) {
  Tuple t;
  t.src = addr6(src);
  t.dst = addr6(dst);
  t.src_id = sport;
  t.dst_id = dport;
  t.family = kFamilyIPv6;
  t.proto = proto;
  return t;
}

Tuple icmp4(const char* src, const char* dst, std::uint16_t id, std::uint8_t type, std::uint8_t code) {
  return v4(src, id, dst, static_cast<std::uint16_t>(type << 8 | code), kProtoICMP);
}

Tuple icmp6(const char* src, const char* dst, std::uint16_t id, std::uint8_t type, std::uint8_t code) {
  return v6(src, id, dst, static_cast<std::uint16_t>(type << 8 | code), kProtoICMPv6);
}

Tuple generic4(const char* src, const char* dst, std::uint8_t proto) { return v4(src, 0, dst, 0, proto); }

std::string describe(const Tuple& t) {
  std::ostringstream o;
  o << "proto " << int(t.proto) << " " << format_addr(t.src, t.is_v6()) << ":" << t.src_id << " -> "
    << format_addr(t.dst, t.is_v6()) << ":" << t.dst_id;
  return o.str();
}

std::string describe(const FrameRecord& r) {
  std::ostringstream o;
  o << "frame " << r.frame;
  if (!r.is_ip) {
    o << " [not IP: " << reason_name(r.link_reason) << "]";
    return o.str();
  }
  o << " " << state_text(r.state) << " " << (r.direction == Direction::Original ? "orig" : "reply");
  if (r.state == CtState::Invalid) o << " reason=" << reason_name(r.reason);
  if (r.has_conn) {
    o << " conn#" << r.conn_id << " {" << describe(r.conn_orig) << "}";
    if (!r.proto_state.empty()) o << " " << r.proto_state;
    if (!r.tcp_state.empty() && r.tcp_state != r.proto_state) o << " tcp=" << r.tcp_state;
    if (r.unreplied) o << " [UNREPLIED]";
    if (r.assured) o << " [ASSURED]";
    o << " timeout=" << r.timeout_left;
  }
  if (r.destroyed) o << " DESTROYED";
  if (r.dropped) o << " DROPPED";
  o << " entries=" << r.entries_after;
  return o.str();
}

std::string describe(const TableRow& r) {
  std::ostringstream o;
  o << describe(r.orig) << " " << r.proto_state << (r.unreplied ? " [UNREPLIED]" : "")
    << (r.assured ? " [ASSURED]" : "") << " timeout=" << r.timeout_left;
  return o.str();
}

void check(const Replay& rp, const Exp& e) {
  const FrameRecord& r = rp.at(e.frame);
  SCOPED_TRACE(rp.file + " " + describe(r));
  ASSERT_TRUE(r.is_ip) << "frame " << e.frame << " did not reach the engine";
  EXPECT_EQ(state_text(r.state), std::string(state_text(e.state))) << "ct state of frame " << e.frame;
  if (e.state == CtState::Invalid) {
    EXPECT_FALSE(r.has_conn) << "INVALID frame " << e.frame << " must carry no entry";
    return;
  }
  EXPECT_EQ(r.direction, e.dir) << "direction of frame " << e.frame;
  EXPECT_TRUE(r.has_conn) << "frame " << e.frame << " must be attached to an entry";
  if (e.tcp != nullptr) {
    EXPECT_EQ(r.tcp_state, e.tcp) << "TCP state after frame " << e.frame;
  }
  if (e.timeout >= 0) {
    EXPECT_EQ(r.timeout_left, e.timeout) << "timeout left after frame " << e.frame;
  }
  if (e.unreplied >= 0) {
    EXPECT_EQ(r.unreplied, e.unreplied == 1) << "[UNREPLIED] after frame " << e.frame;
  }
  if (e.assured >= 0) {
    EXPECT_EQ(r.assured, e.assured == 1) << "[ASSURED] after frame " << e.frame;
  }
  EXPECT_EQ(r.destroyed, e.destroyed) << "entry destroyed by frame " << e.frame;
}

void check_invalid(const Replay& rp, std::uint64_t n, InvalidReason why) {
  const FrameRecord& r = rp.at(n);
  SCOPED_TRACE(rp.file + " " + describe(r));
  ASSERT_TRUE(r.is_ip) << "frame " << n << " did not reach the engine";
  EXPECT_EQ(r.state, CtState::Invalid) << "frame " << n << " must be INVALID";
  EXPECT_EQ(reason_name(r.reason), reason_name(why)) << "reason of frame " << n;
  EXPECT_FALSE(r.has_conn);
}

void check_not_ip(const Replay& rp, std::uint64_t n) {
  const FrameRecord& r = rp.at(n);
  SCOPED_TRACE(rp.file + " " + describe(r));
  EXPECT_FALSE(r.is_ip) << "frame " << n << " is not IP at the link layer";
  EXPECT_EQ(reason_name(r.link_reason), reason_name(InvalidReason::LinkUnsupported));
}

}  // namespace ctrack::golden
