#include "core/expect_table.h"

#include <algorithm>
#include <cstring>

namespace ctrack {
namespace {

// Mask of an address of `family`: all-ones over its length.
Addr full_mask(std::uint8_t family) {
  Addr m;
  std::memset(m.b.data(), 0xff, family == kFamilyIPv6 ? 16 : 4);
  return m;
}

bool addr_masked_equal(const Addr& a, const Addr& b, const Addr& mask) {
  for (std::size_t i = 0; i < a.b.size(); ++i) {
    if (((a.b[i] ^ b.b[i]) & mask.b[i]) != 0) return false;
  }
  return true;
}

Addr addr_and(const Addr& a, const Addr& b) {
  Addr r;
  for (std::size_t i = 0; i < r.b.size(); ++i) r.b[i] = static_cast<std::uint8_t>(a.b[i] & b.b[i]);
  return r;
}

}  // namespace

void ExpectTable::set_max(std::uint32_t max) {
  max_ = max;
  // A grown limit needs room at once; a shrunk one only refuses new ones (the
  // kernel does not evict either).
  if (!pool_.empty() && pool_.size() < max_) {
    const std::uint32_t old = static_cast<std::uint32_t>(pool_.size());
    pool_.resize(max_);
    for (std::uint32_t i = max_; i-- > old;) {
      pool_[i].hnext = free_head_;
      free_head_ = i;
    }
  }
}

void ExpectTable::ensure_pool() {
  if (!pool_.empty() || max_ == 0) return;
  pool_.resize(max_);
  for (std::uint32_t i = max_; i-- > 0;) {
    pool_[i].hnext = free_head_;
    free_head_ = i;
  }
  // The kernel sizes its expectation hash at a quarter of the limit.
  std::uint32_t n = 1;
  while (n < max_ / 4 && n < (1u << 20)) n <<= 1;
  heads_.assign(n, kNoExpect);
}

std::uint32_t ExpectTable::bucket_of(const Tuple& t) const {
  // Keyed on the destination part only: wildcards live in the source part.
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](std::uint8_t b) { h = (h ^ b) * 0x100000001b3ull; };
  for (std::uint8_t b : t.dst.b) mix(b);
  mix(static_cast<std::uint8_t>(t.dst_id >> 8));
  mix(static_cast<std::uint8_t>(t.dst_id));
  mix(t.family);
  mix(t.proto);
  h ^= h >> 29;
  return static_cast<std::uint32_t>(h) & static_cast<std::uint32_t>(heads_.size() - 1);
}

bool ExpectTable::masked_equal(const Tuple& t, const Node& e, const Addr& mask,
                               std::uint16_t msport) {
  return t.zone == e.tuple.zone && t.family == e.tuple.family && t.proto == e.tuple.proto &&
         t.dst == e.tuple.dst && t.dst_id == e.tuple.dst_id &&
         ((t.src_id ^ e.tuple.src_id) & msport) == 0 && addr_masked_equal(t.src, e.tuple.src, mask);
}

HelperData& ExpectTable::attach(std::uint32_t slot) {
  if (slot >= masters_.size())
    masters_.resize(std::max<std::size_t>(slot + 1, masters_.size() * 2));
  masters_[slot] = MasterRec{};
  return masters_[slot].data;
}

HelperData& ExpectTable::data(std::uint32_t slot) {
  if (slot >= masters_.size()) return attach(slot);
  return masters_[slot].data;
}

std::uint32_t ExpectTable::expecting(std::uint32_t slot, unsigned cls) const {
  if (slot >= masters_.size() || cls >= kExpectClasses) return 0;
  return masters_[slot].expecting[cls];
}

void ExpectTable::unlink(std::uint32_t i, Stats& stats) {
  Node& e = pool_[i];
  // Hash chain (singly linked: find the predecessor).
  std::uint32_t* link = &heads_[bucket_of(e.tuple)];
  while (*link != i) link = &pool_[*link].hnext;
  *link = e.hnext;
  // Creation-order list.
  (e.all_prev == kNoExpect ? all_head_ : pool_[e.all_prev].all_next) = e.all_next;
  (e.all_next == kNoExpect ? all_tail_ : pool_[e.all_next].all_prev) = e.all_prev;
  // Master's list.
  MasterRec& m = masters_[e.master_slot];
  (e.m_prev == kNoExpect ? m.head : pool_[e.m_prev].m_next) = e.m_next;
  if (e.m_next != kNoExpect) pool_[e.m_next].m_prev = e.m_prev;
  --m.expecting[e.cls];
  --count_;
  ++stats.expect_delete;
  e.hnext = free_head_;
  free_head_ = i;
}

ExpectStatus ExpectTable::insert(const ExpectSpec& spec, std::uint32_t master_slot,
                                 std::uint32_t master_id, const Tuple& master_orig,
                                 std::uint8_t helper, const HelperPolicy& policy, Timestamp now,
                                 Stats& stats) {
  if (helper == 0 || master_slot >= masters_.size()) return ExpectStatus::NoHelper;
  if (spec.cls >= kExpectClasses) return ExpectStatus::Full;
  ensure_pool();
  if (pool_.empty()) return ExpectStatus::Full;  // nf_conntrack_expect_max = 0
  expire_if_due(now, stats);

  Node n;
  n.tuple.family = spec.family;
  n.tuple.proto = spec.proto;
  n.tuple.dst = spec.dst;
  n.tuple.dst_id = spec.dport;
  n.tuple.zone = master_orig.zone;  // met only in the master's zone
  if (!spec.src_any) {
    n.tuple.src = spec.src;
    n.mask_src = full_mask(spec.family);
    if (spec.family != kFamilyIPv6) std::memset(n.tuple.src.b.data() + 4, 0, 12);
  }
  if (!spec.sport_any) {
    n.tuple.src_id = spec.sport;
    n.mask_sport = 0xffff;
  }
  if (spec.family != kFamilyIPv6) std::memset(n.tuple.dst.b.data() + 4, 0, 12);
  n.cls = spec.cls;
  n.flags = spec.flags;
  n.helper = helper;
  n.child_helper = spec.child_helper;
  n.master_slot = master_slot;
  n.master_id = master_id;
  n.master_orig = master_orig;

  // The same expectation again from the same master restarts it; an overlap
  // with anyone else's is refused.
  for (std::uint32_t i = heads_[bucket_of(n.tuple)]; i != kNoExpect; i = pool_[i].hnext) {
    const Node& e = pool_[i];
    const bool identical = e.master_slot == master_slot && e.tuple == n.tuple &&
                           e.mask_src == n.mask_src && e.mask_sport == n.mask_sport;
    if (identical) {
      if (e.cls != n.cls) return ExpectStatus::Exists;
      unlink(i, stats);
      break;
    }
    const Addr both = addr_and(e.mask_src, n.mask_src);
    if (masked_equal(n.tuple, e, both, static_cast<std::uint16_t>(e.mask_sport & n.mask_sport))) {
      return ExpectStatus::Busy;
    }
  }

  MasterRec& m = masters_[master_slot];
  if (policy.max_expected != 0 && m.expecting[n.cls] >= policy.max_expected) {
    // Evict the oldest of the class (the list runs newest first).
    std::uint32_t oldest = kNoExpect;
    for (std::uint32_t i = m.head; i != kNoExpect; i = pool_[i].m_next) {
      if (pool_[i].cls == n.cls) oldest = i;
    }
    if (oldest != kNoExpect) unlink(oldest, stats);
    if (m.expecting[n.cls] >= policy.max_expected) return ExpectStatus::Full;
  }
  if (count_ >= max_ || free_head_ == kNoExpect) return ExpectStatus::Full;

  const std::uint32_t i = free_head_;
  free_head_ = pool_[i].hnext;
  n.expires = now + seconds(policy.timeout);
  n.id = next_id_++;
  const std::uint32_t b = bucket_of(n.tuple);
  n.hnext = heads_[b];
  heads_[b] = i;
  n.all_prev = all_tail_;
  n.all_next = kNoExpect;
  (all_tail_ == kNoExpect ? all_head_ : pool_[all_tail_].all_next) = i;
  all_tail_ = i;
  n.m_prev = kNoExpect;
  n.m_next = m.head;
  if (m.head != kNoExpect) pool_[m.head].m_prev = i;
  m.head = i;
  pool_[i] = n;
  ++m.expecting[n.cls];
  if (count_ == 0 || n.expires < next_expiry_) next_expiry_ = n.expires;
  ++count_;
  ++stats.expect_create;
  return ExpectStatus::Ok;
}

void ExpectTable::remove_master(std::uint32_t slot, Stats& stats) {
  if (slot >= masters_.size()) return;
  while (masters_[slot].head != kNoExpect) unlink(masters_[slot].head, stats);
}

void ExpectTable::expire(Timestamp now, Stats& stats) {
  Timestamp next = 0;
  bool any = false;
  for (std::uint32_t i = all_head_; i != kNoExpect;) {
    const std::uint32_t after = pool_[i].all_next;
    if (pool_[i].expires - now <= 0) {
      unlink(i, stats);
    } else if (!any || pool_[i].expires < next) {
      next = pool_[i].expires;
      any = true;
    }
    i = after;
  }
  next_expiry_ = next;
}

Expectation ExpectTable::view(std::uint32_t i) const {
  const Node& e = pool_[i];
  Expectation x;
  x.id = e.id;
  x.tuple = e.tuple;
  x.mask_src = e.mask_src;
  x.mask_sport = e.mask_sport;
  x.master_id = e.master_id;
  x.master = e.master_orig;
  x.helper = e.helper;
  x.child_helper = e.child_helper;
  x.cls = e.cls;
  x.flags = e.flags;
  x.expires = e.expires;
  return x;
}

}  // namespace ctrack
