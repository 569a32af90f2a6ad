// Defragmentation before conntrack (nf_defrag_ipv4 / nf_defrag_ipv6, hook
// priority -400): fragments are held until their datagram is complete, then
// the reassembled datagram goes on to the raw table and conntrack as one
// packet. Kernel behaviour: linux-core.md §9.
//
// Only the outer header is reassembled: the IP header an ICMP error quotes
// is never a fragment queue's business.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ctrack/config.h"
#include "ctrack/engine.h"
#include "ctrack/stats.h"
#include "defrag/frag_queue.h"
#include "parse/packet.h"

namespace ctrack::defrag {

class Defragmenter {
 public:
  // Hands one fragment (pkt.fragment is true) to its queue. Reassembled:
  // Reassembly::l3 points into this object's buffer until the next
  // completed datagram.
  Reassembly gather(const Packet& pkt, Timestamp now, Hook hook, const Config& cfg);
  // Drops the queues whose timer ran out (also done by gather()).
  void expire(Timestamp now);

  std::uint64_t memory(std::uint8_t family) const {
    return family == kFamilyIPv6 ? v6_.mem : v4_.mem;
  }
  std::uint64_t timeouts() const { return timeouts_; }

 private:
  Reassembly gather_v4(const Packet& pkt, Timestamp now, Hook hook, const Config& cfg);
  Reassembly gather_v6(const Packet& pkt, Timestamp now, Hook hook, const Config& cfg);
  // inet_frag_find: the existing queue or a new one, kNone above the high
  // threshold (checked before the lookup, as the kernel does).
  std::uint32_t find_or_create(const FragKey& key, Timestamp now, Timestamp timeout,
                               std::uint64_t high_thresh, FragDir& dir);
  Reassembly assemble_v4(std::uint32_t q);
  Reassembly assemble_v6(std::uint32_t q);

  FragStore store_;
  FragDir v4_;
  FragDir v6_;
  std::uint32_t next_datagram_ = 1;
  std::uint64_t timeouts_ = 0;
  std::vector<std::uint8_t> out_;  // the last reassembled datagram (<= 64 KiB + headers)
};

// The two outcomes that leave a fragment out of conntrack, shared by the
// IPv4 and IPv6 paths.
inline Reassembly dropped(InvalidReason r, std::uint32_t datagram) {
  Reassembly ra;
  ra.status = FragStatus::Dropped;
  ra.reason = r;
  ra.datagram = datagram;
  return ra;
}

inline Reassembly held(std::uint32_t datagram) {
  Reassembly ra;
  ra.status = FragStatus::Held;
  ra.reason = InvalidReason::FragmentHeld;
  ra.datagram = datagram;
  return ra;
}

}  // namespace ctrack::defrag
