// IPv4 fragments (ip_defrag / ip_frag_queue / ip_frag_reasm). What differs
// from IPv6: the key has the protocol, every inconsistency discards the whole
// queue, a non-last fragment's data is cut down to a multiple of 8, and the
// reassembled header is the first fragment's with DF kept only when the
// largest fragment carried it.
#include <algorithm>

#include "defrag/defragmenter.h"
#include "parse/checksum.h"

namespace ctrack::defrag {
namespace {

constexpr std::uint32_t kMaxDatagram = 65535;

}  // namespace

Reassembly Defragmenter::gather_v4(const Packet& pkt, Timestamp now, Hook hook, const Config& cfg) {
  FragKey key;
  key.src = pkt.src;
  key.dst = pkt.dst;
  key.id = pkt.frag_id;
  key.family = kFamilyIPv4;
  key.proto = pkt.proto;
  key.user = static_cast<std::uint8_t>(hook);
  const std::uint32_t q =
      find_or_create(key, now, seconds(cfg.ipfrag_time), cfg.ipfrag_high_thresh, v4_);
  if (q == kNone) return dropped(InvalidReason::FragMemoryLimit, 0);

  FragQueue& fq = store_.queue(q);
  const std::uint32_t datagram = fq.datagram;
  const std::uint32_t ihl = pkt.l4_off;
  const std::uint32_t offset = std::uint32_t{pkt.frag_offset} * 8u;
  std::uint32_t end = offset + (pkt.len - ihl);
  auto discard = [&](InvalidReason r) {
    store_.kill(q, v4_);
    return dropped(r, datagram);
  };

  if (!pkt.more_fragments) {
    // A last fragment must agree with everything seen so far.
    if (end < fq.len || (fq.last_in && end != fq.len)) return discard(InvalidReason::FragBadLength);
    fq.last_in = true;
    fq.len = end;
  } else {
    end &= ~7u;
    if (end > fq.len) {
      if (fq.last_in) return discard(InvalidReason::FragBadLength);
      fq.len = end;
    }
  }
  if (end == offset) return discard(InvalidReason::FragBadLength);

  switch (store_.check(fq, offset, end)) {
    case InsertResult::Duplicate:
      return dropped(InvalidReason::FragDuplicate, datagram);  // the queue stays
    case InsertResult::Overlap:
      return discard(InvalidReason::FragOverlap);
    case InsertResult::Ok:
      break;
  }
  store_.insert(q, offset, end, {pkt.data, ihl}, {pkt.data + ihl, end - offset},
                FragStore::fragment_charge(pkt.len), v4_);
  FragQueue& ins = store_.queue(q);
  if (offset == 0) ins.first_in = true;
  ins.ecn |= ecn_bit(pkt.data[1]);  // TOS: ECN in the low two bits
  const std::uint32_t fragsize = end - offset + ihl;
  ins.max_size = std::max(ins.max_size, fragsize);
  if ((pkt.data[6] & 0x40u) != 0) ins.max_df_size = std::max(ins.max_df_size, fragsize);
  if (ins.first_in && ins.last_in && ins.meat == ins.len) return assemble_v4(q);
  return held(datagram);
}

Reassembly Defragmenter::assemble_v4(std::uint32_t q) {
  const FragQueue& fq = store_.queue(q);
  const std::uint32_t datagram = fq.datagram;
  const std::uint16_t count = fq.count;
  const std::uint32_t ihl = store_.frag(fq.frags).hdr_len;
  const std::uint32_t total = ihl + fq.len;
  const EcnOutcome ecn = merge_ecn(fq.ecn);
  if (ecn.drop) {
    store_.kill(q, v4_);
    return dropped(InvalidReason::FragEcnMismatch, datagram);
  }
  if (total > kMaxDatagram) {
    store_.kill(q, v4_);
    return dropped(InvalidReason::FragOversize, datagram);
  }
  if (out_.capacity() < kMaxDatagram + 64) out_.reserve(kMaxDatagram + 64);
  out_.resize(total);
  std::uint8_t* out = out_.data();
  store_.copy_out(fq.frags, 0, ihl, out);
  for (std::uint32_t f = fq.frags; f != kNone; f = store_.frag(f).next) {
    const FragRec& r = store_.frag(f);
    store_.copy_out(f, r.hdr_len, r.end - r.offset, out + ihl + r.offset);
  }
  if (ecn.set_ce) out[1] |= 3u;
  out[2] = static_cast<std::uint8_t>(total >> 8);
  out[3] = static_cast<std::uint8_t>(total);
  const bool df = fq.max_df_size == fq.max_size;
  out[6] = df ? 0x40 : 0;
  out[7] = 0;
  out[10] = 0;
  out[11] = 0;
  const std::uint16_t sum = csum_fold(csum_add(out, ihl));
  out[10] = static_cast<std::uint8_t>(sum >> 8);
  out[11] = static_cast<std::uint8_t>(sum);
  store_.kill(q, v4_);

  Reassembly ra;
  ra.status = FragStatus::Reassembled;
  ra.l3 = std::span<const std::uint8_t>(out_.data(), total);
  ra.datagram = datagram;
  ra.frag_count = count;
  return ra;
}

}  // namespace ctrack::defrag
