#include "kdiff/address_map.h"

#include <cstring>
#include <set>
#include <span>
#include <string>

namespace ctrack::kdiff {
namespace {

// Where the parts of one IP packet are; enough to find addresses and
// checksums, tolerant of truncation (quoted packets are cut short).
struct Layout {
  bool ok = false;
  bool v6 = false;
  std::size_t src_off = 0, dst_off = 0, alen = 0;
  std::size_t l3_hdr_len = 0;   // IPv4 header length (for its checksum)
  std::size_t l4 = 0;           // offset of the L4 header (0 = none usable)
  std::size_t end = 0;          // end of available bytes of this packet
  std::uint8_t proto = 0;
  bool non_first_fragment = false;
  bool fragment = false;  // any fragment: its L4 payload is incomplete
};

Layout layout(const std::uint8_t* p, std::size_t n) {
  Layout l;
  if (n < 20) return l;
  const int ver = p[0] >> 4;
  if (ver == 4) {
    l.l3_hdr_len = static_cast<std::size_t>(p[0] & 0x0f) * 4;
    if (l.l3_hdr_len < 20 || l.l3_hdr_len > n) return l;
    const std::size_t total = (std::size_t{p[2]} << 8) | p[3];
    l.end = total >= l.l3_hdr_len && total < n ? total : n;
    l.src_off = 12, l.dst_off = 16, l.alen = 4;
    l.proto = p[9];
    l.non_first_fragment = (((p[6] & 0x1f) << 8) | p[7]) != 0;
    l.fragment = l.non_first_fragment || (p[6] & 0x20) != 0;
    l.l4 = l.l3_hdr_len;
    l.ok = true;
  } else if (ver == 6) {
    if (n < 40) return l;
    l.v6 = true;
    const std::size_t plen = (std::size_t{p[4]} << 8) | p[5];
    l.end = 40 + plen < n ? 40 + plen : n;
    l.src_off = 8, l.dst_off = 24, l.alen = 16;
    std::uint8_t nh = p[6];
    std::size_t off = 40;
    // Extension headers: hop-by-hop, routing, destination options, fragment.
    while ((nh == 0 || nh == 43 || nh == 60 || nh == 44) && off + 8 <= l.end) {
      if (nh == 44) {
        l.non_first_fragment = ((((p[off + 2] << 8) | p[off + 3]) & 0xfff8) != 0);
        l.fragment = true;
        nh = p[off];
        off += 8;
      } else {
        std::uint8_t next = p[off];
        off += (std::size_t{p[off + 1]} + 1) * 8;
        nh = next;
      }
    }
    l.proto = nh;
    l.l4 = off;
    l.ok = true;
  }
  if (l.l4 >= l.end) l.l4 = 0;
  return l;
}

// The data of an unfragmented TCP segment (where FTP and IRC write
// addresses); empty if there is none.
std::span<std::uint8_t> tcp_payload(const Layout& l, std::uint8_t* p) {
  if (!l.ok || l.proto != kProtoTCP || l.fragment || l.l4 == 0 || l.l4 + 20 > l.end) return {};
  const std::size_t doff = static_cast<std::size_t>(p[l.l4 + 12] >> 4) * 4;
  if (doff < 20 || l.l4 + doff >= l.end) return {};
  return {p + l.l4 + doff, l.end - l.l4 - doff};
}

bool is_icmp_error(const Layout& l, const std::uint8_t* p) {
  if (l.l4 == 0 || l.non_first_fragment || l.l4 + 8 > l.end) return false;
  const std::uint8_t type = p[l.l4];
  if (!l.v6 && l.proto == kProtoICMP) return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
  if (l.v6 && l.proto == kProtoICMPv6) return type < 128;
  return false;
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), word by word over what changed.
struct CsumDelta {
  std::uint32_t acc = 0;
  void add_words(const std::uint8_t* old_p, const std::uint8_t* new_p, std::size_t n, std::size_t skip = SIZE_MAX) {
    for (std::size_t i = 0; i < n; i += 2) {
      if (i == skip) continue;
      std::uint16_t o = static_cast<std::uint16_t>(old_p[i] << 8 | (i + 1 < n ? old_p[i + 1] : 0));
      std::uint16_t w = static_cast<std::uint16_t>(new_p[i] << 8 | (i + 1 < n ? new_p[i + 1] : 0));
      if (o == w) continue;
      acc += static_cast<std::uint16_t>(~o) + std::uint32_t{w};
    }
  }
  void apply(std::uint8_t* ck, bool zero_means_none) const {
    std::uint16_t old_ck = static_cast<std::uint16_t>(ck[0] << 8 | ck[1]);
    if (zero_means_none && old_ck == 0) return;
    std::uint32_t s = static_cast<std::uint16_t>(~old_ck) + acc;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    std::uint16_t r = static_cast<std::uint16_t>(~s);
    if (zero_means_none && r == 0) r = 0xffff;
    ck[0] = static_cast<std::uint8_t>(r >> 8);
    ck[1] = static_cast<std::uint8_t>(r & 0xff);
  }
};

// Offset of the L4 checksum field, and whether the pseudo-header counts.
bool l4_checksum(std::uint8_t proto, bool v6, std::size_t* off, bool* pseudo) {
  switch (proto) {
    case kProtoTCP: *off = 16, *pseudo = true; return true;
    case kProtoUDP: case kProtoUDPLite: case 33 /* DCCP */: *off = 6, *pseudo = true; return true;
    case kProtoICMP: *off = 2, *pseudo = false; return !v6;
    case kProtoICMPv6: *off = 2, *pseudo = true; return v6;
    default: return false;
  }
}

}  // namespace

bool is_documentation_addr(const Addr& a, bool v6) {
  const auto& b = a.b;
  if (v6) return b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8;
  return (b[0] == 192 && b[1] == 0 && b[2] == 2) || (b[0] == 198 && b[1] == 51 && b[2] == 100) ||
         (b[0] == 203 && b[1] == 0 && b[2] == 113) || (b[0] == 198 && (b[1] & 0xfe) == 18);
}

void AddressMap::learn(const std::uint8_t* p, std::size_t n, int depth) {
  Layout l = layout(p, n);
  if (!l.ok) return;
  for (std::size_t off : {l.src_off, l.dst_off}) {
    Addr a = Addr::from_bytes(p + off, l.v6);
    Key k{l.v6, a.b};
    if (is_documentation_addr(a, l.v6) || fwd_.count(k)) continue;
    fwd_[k] = Addr{};  // placeholder, assigned in build()
  }
  if (depth == 0 && is_icmp_error(l, p)) learn(p + l.l4 + 8, l.end - l.l4 - 8, 1);
  if (depth == 0) {
    for (const PayloadAddr& pa : find_payload_addrs(tcp_payload(l, const_cast<std::uint8_t*>(p)))) {
      if (is_documentation_addr(pa.addr, pa.v6)) continue;
      Key k{pa.v6, pa.addr.b};
      if (!fwd_.count(k)) fwd_[k] = Addr{};
      payload_uses_[k].emplace_back(pa.form, pa.len);
    }
  }
}

// A replacement whose text fits every payload span the original occupies:
// the shortest documentation addresses first (192.0.2.x is 9 characters,
// 198.18.x.y at least 10), so padding with zeros can make up the rest.
Addr AddressMap::pick_for_payload(const Key& k, const std::set<Key>& taken) const {
  const auto& uses = payload_uses_.at(k);
  auto fits = [&](const Addr& a) {
    if (taken.count({k.first, a.b})) return false;
    for (const auto& [form, len] : uses) {
      if (payload_addr_text(a, k.first, form, len).empty()) return false;
    }
    return true;
  };
  if (k.first) {
    for (std::uint32_t n = 1; n < 4096; ++n) {
      Addr a{};
      a.b[0] = 0x20, a.b[1] = 0x01, a.b[2] = 0x0d, a.b[3] = 0xb8, a.b[4] = 0xff, a.b[5] = 0xff;
      a.b[14] = static_cast<std::uint8_t>(n >> 8);
      a.b[15] = static_cast<std::uint8_t>(n);
      if (fits(a)) return a;
    }
    return Addr{};
  }
  for (std::uint32_t net : {0xc0000200u, 0xcb007100u, 0xc6336400u}) {  // 192.0.2/24, 203.0.113/24, 198.51.100/24
    for (std::uint32_t h = 1; h < 255; ++h) {
      if (fits(Addr::v4(net | h))) return Addr::v4(net | h);
    }
  }
  for (std::uint32_t h = 1; h < 0x20000; ++h) {
    if (fits(Addr::v4((198u << 24) | (18u << 16) | h))) return Addr::v4((198u << 24) | (18u << 16) | h);
  }
  return Addr{};
}

void AddressMap::build(const std::vector<std::vector<std::uint8_t>>& packets) {
  for (const auto& pkt : packets) learn(pkt.data(), pkt.size(), 0);
  // Replacement addresses must not collide with documentation addresses the
  // capture already uses.
  std::set<Key> used;
  for (const auto& pkt : packets) {
    Layout l = layout(pkt.data(), pkt.size());
    if (!l.ok) continue;
    for (std::size_t off : {l.src_off, l.dst_off}) used.insert({l.v6, Addr::from_bytes(pkt.data() + off, l.v6).b});
  }
  std::set<Key> taken = used;
  // Payload addresses first: they have the tightest constraints.
  for (auto& [k, v] : fwd_) {
    if (!payload_uses_.count(k)) continue;
    Addr a = pick_for_payload(k, taken);
    if (a == Addr{}) continue;  // cannot fit: gets an ordinary one below
    v = a;
    taken.insert({k.first, a.b});
    back_[{k.first, a.b}] = Addr{k.second};
  }
  for (auto& [k, v] : fwd_) {
    if (!(v == Addr{})) continue;  // taken by a payload address above
    Addr a;
    do {
      if (k.first) {
        a = Addr{};
        a.b[0] = 0x20, a.b[1] = 0x01, a.b[2] = 0x0d, a.b[3] = 0xb8, a.b[4] = 0xff, a.b[5] = 0xff;
        a.b[12] = static_cast<std::uint8_t>(next_v6_ >> 24);
        a.b[13] = static_cast<std::uint8_t>(next_v6_ >> 16);
        a.b[14] = static_cast<std::uint8_t>(next_v6_ >> 8);
        a.b[15] = static_cast<std::uint8_t>(next_v6_);
        ++next_v6_;
      } else {
        a = Addr::v4((198u << 24) | ((18u << 16) + next_v4_++));
      }
    } while (taken.count({k.first, a.b}));
    v = a;
    taken.insert({k.first, a.b});
    back_[{k.first, a.b}] = Addr{k.second};
  }
}

Addr AddressMap::mapped(const Addr& a, bool v6) const {
  auto it = fwd_.find({v6, a.b});
  return it == fwd_.end() ? a : it->second;
}

Addr AddressMap::original(const Addr& a, bool v6) const {
  auto it = back_.find({v6, a.b});
  return it == back_.end() ? a : it->second;
}

namespace {

// Rewrites the addresses FTP/IRC wrote in the payload, each in exactly its
// old number of characters. Returns false if one did not fit.
bool remap_payload(const AddressMap& m, const Layout& l, std::uint8_t* p, std::string* problem) {
  bool ok = true;
  std::span<std::uint8_t> data = tcp_payload(l, p);
  for (const PayloadAddr& pa : find_payload_addrs(data)) {
    const Addr to = m.mapped(pa.addr, pa.v6);
    if (to == pa.addr) continue;
    const std::string text = payload_addr_text(to, pa.v6, pa.form, pa.len);
    if (text.size() != pa.len) {
      ok = false;
      if (problem != nullptr) {
        *problem = std::string(pa.what) + " address " + format_addr(pa.addr, pa.v6) + " (" +
                   std::to_string(pa.len) + " characters) cannot be written as " + format_addr(to, pa.v6) +
                   " without changing the payload length";
      }
      continue;
    }
    std::memcpy(data.data() + pa.off, text.data(), pa.len);
  }
  return ok;
}

bool remap_packet(const AddressMap& m, Addr (AddressMap::*fn)(const Addr&, bool) const, std::uint8_t* p,
                  const std::uint8_t* orig, std::size_t n, int depth, std::string* problem) {
  Layout l = layout(p, n);
  if (!l.ok) return true;
  bool ok = true;
  if (depth == 0 && fn == &AddressMap::mapped) ok = remap_payload(m, l, p, problem);
  for (std::size_t off : {l.src_off, l.dst_off}) {
    Addr a = (m.*fn)(Addr::from_bytes(p + off, l.v6), l.v6);
    std::memcpy(p + off, a.b.data(), l.alen);
  }
  if (depth == 0 && is_icmp_error(l, p)) {
    remap_packet(m, fn, p + l.l4 + 8, orig + l.l4 + 8, l.end - l.l4 - 8, 1, nullptr);
  }
  std::size_t ck_off = 0;
  bool pseudo = false;
  if (l.l4 != 0 && !l.non_first_fragment && l4_checksum(l.proto, l.v6, &ck_off, &pseudo) &&
      l.l4 + ck_off + 2 <= l.end) {
    CsumDelta d;
    if (pseudo) d.add_words(orig + l.src_off, p + l.src_off, 2 * l.alen);  // src and dst are adjacent
    d.add_words(orig + l.l4, p + l.l4, l.end - l.l4, ck_off);
    // A UDP checksum of 0 over IPv4 means "none" and must stay 0.
    d.apply(p + l.l4 + ck_off, l.proto == kProtoUDP && !l.v6);
  }
  if (!l.v6) {
    CsumDelta d;
    d.add_words(orig, p, l.l3_hdr_len, 10);
    d.apply(p + 10, false);
  }
  return ok;
}

}  // namespace

bool AddressMap::apply(std::vector<std::uint8_t>& packet, std::string* problem) const {
  if (fwd_.empty()) return true;
  const std::vector<std::uint8_t> orig = packet;
  return remap_packet(*this, &AddressMap::mapped, packet.data(), orig.data(), packet.size(), 0, problem);
}

}  // namespace ctrack::kdiff
