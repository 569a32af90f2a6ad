// IPv6 fragments as conntrack's own reassembly (nf_conntrack_reasm.c) treats
// them. What differs from IPv4: no protocol in the key; a first fragment
// without the whole upper-layer header (RFC 8200 §4.5) and a non-last
// fragment whose data is not a multiple of 8 are passed on unreassembled
// (the latter after killing its queue); most other inconsistencies drop
// just the fragment and keep the queue; only an overlap kills it.
#include <algorithm>

#include "defrag/defragmenter.h"

namespace ctrack::defrag {
namespace {

// The kernel lets the packet continue as it is (nf_ct_frag6_gather returns 0).
Reassembly passed(const Packet& pkt) {
  Reassembly ra;
  ra.l3 = std::span<const std::uint8_t>(pkt.data, pkt.len);
  return ra;
}

constexpr std::uint32_t kMaxPayload = 65535;  // IPV6_MAXPLEN
constexpr std::uint32_t kFragHdrLen = 8;
constexpr std::uint8_t kAuth = 51;

// ipv6frag_thdr_truncated: the first fragment must hold the whole
// upper-layer header (TCP/UDP/ICMPv6 header, one byte of anything else).
bool upper_header_truncated(const Packet& pkt) {
  std::uint32_t need = 1;
  switch (pkt.proto) {
    case kProtoTCP:
      need = 20;
      break;
    case kProtoUDP:
      need = 8;
      break;
    case kProtoICMPv6:
      need = 8;
      break;
    default:
      break;
  }
  return pkt.l4_off + need > pkt.len;
}

}  // namespace

Reassembly Defragmenter::gather_v6(const Packet& pkt, Timestamp now, Hook hook, const Config& cfg) {
  const std::uint32_t fhoff = pkt.frag_hdr_off;
  const std::uint32_t offset = std::uint32_t{pkt.frag_offset} * 8u;
  if (offset == 0 && upper_header_truncated(pkt)) return passed(pkt);

  FragKey key;
  key.src = pkt.src;
  key.dst = pkt.dst;
  key.id = pkt.frag_id;
  key.family = kFamilyIPv6;
  key.user = static_cast<std::uint8_t>(hook);
  const std::uint32_t q =
      find_or_create(key, now, seconds(cfg.frag6_timeout), cfg.frag6_high_thresh, v6_);
  if (q == kNone) return dropped(InvalidReason::FragMemoryLimit, 0);

  FragQueue& fq = store_.queue(q);
  const std::uint32_t datagram = fq.datagram;
  const std::uint32_t end = offset + (pkt.len - (fhoff + kFragHdrLen));
  if (end > kMaxPayload) return dropped(InvalidReason::FragBadLength, datagram);

  if (!pkt.more_fragments) {
    if (end < fq.len || (fq.last_in && end != fq.len)) {
      return dropped(InvalidReason::FragBadLength, datagram);
    }
    fq.last_in = true;
    fq.len = end;
  } else {
    if ((end & 7u) != 0) {
      store_.kill(q, v6_);
      return passed(pkt);
    }
    if (end > fq.len) {
      if (fq.last_in) return dropped(InvalidReason::FragBadLength, datagram);
      fq.len = end;
    }
  }
  if (end == offset) return dropped(InvalidReason::FragBadLength, datagram);

  switch (store_.check(fq, offset, end)) {
    case InsertResult::Duplicate:
      return dropped(InvalidReason::FragDuplicate, datagram);
    case InsertResult::Overlap:
      store_.kill(q, v6_);
      return dropped(InvalidReason::FragOverlap, datagram);
    case InsertResult::Ok:
      break;
  }
  const std::uint32_t data_off = fhoff + kFragHdrLen;
  store_.insert(q, offset, end, {pkt.data, data_off}, {pkt.data + data_off, end - offset},
                FragStore::fragment_charge(pkt.len), v6_);
  FragQueue& ins = store_.queue(q);
  if (offset == 0) ins.first_in = true;
  ins.ecn |= ecn_bit(static_cast<std::uint8_t>(pkt.data[1] >> 4));  // traffic class, low bits
  ins.max_size = std::max(ins.max_size, pkt.len - 40);
  if (ins.first_in && ins.last_in && ins.meat == ins.len) return assemble_v6(q);
  return held(datagram);
}

Reassembly Defragmenter::assemble_v6(std::uint32_t q) {
  const FragQueue& fq = store_.queue(q);
  const std::uint32_t datagram = fq.datagram;
  const std::uint16_t count = fq.count;
  const std::uint32_t first = fq.frags;
  const std::uint32_t fhoff = store_.frag(first).hdr_len - kFragHdrLen;
  const EcnOutcome ecn = merge_ecn(fq.ecn);
  if (ecn.drop) {
    store_.kill(q, v6_);
    return dropped(InvalidReason::FragEcnMismatch, datagram);
  }
  if (fhoff - 40 + fq.len > kMaxPayload) {
    store_.kill(q, v6_);
    return dropped(InvalidReason::FragOversize, datagram);
  }
  const std::uint32_t total = fhoff + fq.len;
  if (out_.capacity() < kMaxPayload + 1024) out_.reserve(kMaxPayload + 1024);
  out_.resize(total);
  std::uint8_t* out = out_.data();
  // The first fragment's unfragmentable part, minus the fragment header,
  // whose "next header" takes the place of the one that pointed at it.
  store_.copy_out(first, 0, fhoff, out);
  std::uint8_t next = 0;
  store_.copy_out(first, fhoff, 1, &next);
  std::uint32_t nh_pos = 6;
  std::uint8_t cur = out[6];
  // The parser already validated this chain on the first fragment.
  for (std::uint32_t off = 40; off < fhoff && off + 2 <= fhoff;) {
    nh_pos = off;
    const std::uint32_t hlen = cur == kAuth ? (out[off + 1] + 2u) * 4u : (out[off + 1] + 1u) * 8u;
    cur = out[off];
    off += hlen;
  }
  out[nh_pos] = next;
  for (std::uint32_t f = first; f != kNone; f = store_.frag(f).next) {
    const FragRec& r = store_.frag(f);
    store_.copy_out(f, r.hdr_len, r.end - r.offset, out + fhoff + r.offset);
  }
  const std::uint32_t payload = total - 40;
  if (ecn.set_ce) out[1] |= 0x30u;
  out[4] = static_cast<std::uint8_t>(payload >> 8);
  out[5] = static_cast<std::uint8_t>(payload);
  store_.kill(q, v6_);

  Reassembly ra;
  ra.status = FragStatus::Reassembled;
  ra.l3 = std::span<const std::uint8_t>(out_.data(), total);
  ra.datagram = datagram;
  ra.frag_count = count;
  return ra;
}

}  // namespace ctrack::defrag
