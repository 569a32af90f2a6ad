// The contract every connection-tracking helper fulfils (the kernel's struct
// nf_conntrack_helper, minus the function pointers). A helper is a struct of
// static functions declared with CTRACK_DECLARE_HELPER and registered by one
// line in helper_list.h; the engine dispatches with a switch over the helper
// id, so a packet never pays for an indirect call.
//
// Adding a helper = one new file src/helpers/<name>_helper.cc defining
//
//   const HelperInfo  FooHelper::kInfo = {"foo", kProtoUDP, /*family*/ 0, /*port*/ 1234};
//   HelperPolicy      FooHelper::policy(const Config& cfg);   // max_expected, timeout
//   HelperVerdict     FooHelper::help(HelperCtx& ctx);        // per packet
//
// plus `X(FooHelper)` appended at the END of CTRACK_HELPERS in helper_list.h
// (ids are list positions + 1: appending keeps the existing ids stable).
//
// When `help` runs (as nf_confirm, linux-core.md §0.2 step 7 and §7.3):
//   - only for packets the ruleset accepted (at confirm time, i.e. in
//     Engine::confirm() / the confirm half of Engine::process()), never for
//     INVALID / UNTRACKED / dropped packets;
//   - for every packet of an entry that carries this helper (Conn::helper),
//     whatever its direction, EXCEPT ctinfo RELATED_REPLY; this includes the
//     NEW first packet (before the entry is confirmed) and an ICMP error
//     RELATED in the original direction (ctx.pkt is then the ICMP packet:
//     check ctx.pkt.proto). Each helper filters ctinfo itself as its kernel
//     twin does (FTP: ESTABLISHED/ESTABLISHED_REPLY only, IRC: ORIGINAL...).
//   - ctx.pkt is a parsed copy of the packet, valid only during the call.
//     Bounds: read only [ctx.pkt.data, ctx.pkt.data + ctx.pkt.len).
//     ctx.payload() gives the TCP/UDP payload (empty when there is none).
//
// What a helper may do:
//   - create expectations with ctx.expect(spec) (nf_ct_expect_related: the
//     per-helper max_expected of policy() evicts the oldest of the same
//     class; the global nf_conntrack_expect_max refuses). The kernel helpers
//     return DROP when this fails ("cannot add expectation").
//   - keep per-connection state in ctx.data (kHelperDataBytes, zeroed when
//     the helper is attached): `auto& st = ctx.data.as<MyState>();`.
//   - refresh the master's timeout (ctx.refresh_master(secs), Amanda).
//   - return HelperVerdict::Drop: the packet is dropped (Result::helper_drop,
//     Result::dropped); an unconfirmed entry is then discarded.
// Helpers must never allocate, never throw, never read outside the packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "ctrack/config.h"
#include "ctrack/conn.h"
#include "ctrack/expectation.h"
#include "ctrack/tuple.h"
#include "ctrack/types.h"
#include "parse/packet.h"

namespace ctrack {

class ExpectTable;
struct Stats;

// enum ip_conntrack_info as a helper receives it.
enum class CtInfo : std::uint8_t {
  Established = 0,
  Related = 1,
  New = 2,
  EstablishedReply = 3,
  RelatedReply = 4,
};

enum class HelperVerdict : std::uint8_t { Accept, Drop };

// struct nf_conntrack_expect_policy: per expectation class 0 (ctrack helpers
// use one class). max_expected 0 = unlimited; timeout in seconds.
struct HelperPolicy {
  std::uint32_t max_expected = 1;
  std::uint32_t timeout = 300;
};

// Static facts about a helper (struct nf_conntrack_helper's identity).
struct HelperInfo {
  const char* name;            // kernel name: "ftp", "irc", "tftp", "amanda"
  std::uint8_t proto;          // kProtoTCP / kProtoUDP
  std::uint8_t family;         // 0 = IPv4 and IPv6, else kFamilyIPv4 / kFamilyIPv6
  std::uint16_t default_port;  // the module's default `ports=` (classic auto-assignment)
};

// An expectation to register: nf_ct_expect_init(class, family, saddr-or-NULL,
// daddr, proto, sport-or-NULL, dport). The tuple is the ORIGINAL direction of
// the future child connection.
struct ExpectSpec {
  std::uint8_t cls = 0;
  std::uint8_t family = kFamilyIPv4;
  bool src_any = false;  // saddr NULL: any source address
  Addr src{};
  Addr dst{};
  std::uint8_t proto = kProtoTCP;
  bool sport_any = true;  // sport NULL: any source port
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  std::uint8_t flags = 0;         // ExpectFlag bits (ctrack/expectation.h)
  std::uint8_t child_helper = 0;  // exp->helper: helper for the child (0 = none)
};

// Outcome of an insertion, as the kernel's error codes.
enum class ExpectStatus : std::uint8_t {
  Ok = 0,
  NoHelper,  // -ESHUTDOWN: the master has no helper
  Exists,    // -EALREADY: identical expectation of another class/master
  Busy,      // -EBUSY: overlaps another master's expectation
  Full,      // -EMFILE: max_expected still reached, or nf_conntrack_expect_max
};

// Per-connection private area of the helper (struct nf_conn_help's data).
inline constexpr std::size_t kHelperDataBytes = 32;
struct HelperData {
  alignas(8) std::uint8_t bytes[kHelperDataBytes] = {};

  // The helper's own state struct (trivially copyable, zero = initial state).
  template <class S>
  S& as() {
    static_assert(sizeof(S) <= kHelperDataBytes && alignof(S) <= 8);
    static_assert(std::is_trivially_copyable_v<S>);
    return *reinterpret_cast<S*>(bytes);
  }
};

// Everything a helper sees for one accepted packet.
struct HelperCtx {
  Conn& conn;          // the master entry carrying the helper
  std::uint32_t slot;  // its pool slot (engine-private)
  const Packet& pkt;   // the packet, parsed (L3 view)
  Direction dir;       // direction of the packet on `conn`
  CtInfo ctinfo;
  Timestamp now;
  const Config& cfg;
  HelperData& data;
  ExpectTable& expects;
  Stats& stats;

  // Registers an expectation with `conn` as master, using the policy of the
  // entry's helper. See the contract above.
  ExpectStatus expect(const ExpectSpec& spec) const;
  // The entry's own tuple in a direction (tuplehash[dir].tuple).
  Tuple tuple(Direction d) const;
  // L4 payload of a TCP/UDP packet (after the TCP data offset / UDP header);
  // empty when there is none or the header is damaged.
  std::span<const std::uint8_t> payload() const;
  // nf_ct_refresh: master timeout = now + secs (unless FIXED_TIMEOUT).
  void refresh_master(std::uint32_t secs) const;
};

// Declares a helper's struct; its .cc defines the three members.
#define CTRACK_DECLARE_HELPER(H)                                       \
  struct H {                                                           \
    static const ::ctrack::HelperInfo kInfo;                           \
    static ::ctrack::HelperPolicy policy(const ::ctrack::Config& cfg); \
    static ::ctrack::HelperVerdict help(::ctrack::HelperCtx& ctx);     \
  };

}  // namespace ctrack
