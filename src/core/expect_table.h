// The expectation table (the kernel's nf_ct_expect_hash plus each master's
// expectation list, net/netfilter/nf_conntrack_expect.c semantics; see
// linux-core.md §7.1). It also holds the per-connection helper area of every
// entry that carries a helper, indexed by the entry's pool slot.
//
// Memory: one pool of nf_conntrack_expect_max nodes, allocated when the first
// expectation is created (engines without helpers pay nothing); a node is
// never allocated per packet. Expectations expire by packet time: they are
// swept before any operation that could observe them.
#pragma once

#include <cstdint>
#include <vector>

#include "ctrack/expectation.h"
#include "ctrack/stats.h"
#include "ctrack/tuple.h"
#include "helpers/helper.h"

namespace ctrack {

inline constexpr std::uint32_t kNoExpect = 0xffffffffu;
inline constexpr unsigned kExpectClasses = 4;  // NF_CT_MAX_EXPECT_CLASSES

class ExpectTable {
 public:
  explicit ExpectTable(std::uint32_t max) : max_(max) {}

  // nf_conntrack_expect_max changed at run time.
  void set_max(std::uint32_t max);
  std::uint32_t count() const { return count_; }

  // Per-entry helper area: `attach` (re)initialises it when a helper is put
  // on the entry in `slot`; `data` returns it afterwards.
  HelperData& attach(std::uint32_t slot);
  HelperData& data(std::uint32_t slot);
  // Expectations of the entry in `slot` currently alive, per class.
  std::uint32_t expecting(std::uint32_t slot, unsigned cls) const;

  // nf_ct_expect_related: registers `spec` with the entry in `master_slot`
  // (id `master_id`, original tuple `master_orig`, helper `helper`) as
  // master, under the helper's `policy`. Counts expect_create /
  // expect_delete (for the replaced or evicted one) in `stats`.
  ExpectStatus insert(const ExpectSpec& spec, std::uint32_t master_slot, std::uint32_t master_id,
                      const Tuple& master_orig, std::uint8_t helper, const HelperPolicy& policy,
                      Timestamp now, Stats& stats);

  struct Match {
    bool found = false;
    std::uint32_t master_slot = 0;
    std::uint32_t master_id = 0;
    std::uint8_t child_helper = 0;
  };
  // nf_ct_find_expectation for a new connection's original tuple `t`: the
  // first active expectation whose masked tuple equals `t`. `master_ok(slot)`
  // says whether its master may father children (confirmed, not dying, not
  // expired); if not, nothing matches (the kernel does not look further).
  // A non-permanent expectation is consumed (expect_delete).
  template <class MasterOk>
  Match match(const Tuple& t, Timestamp now, Stats& stats, MasterOk&& master_ok);

  // Removes every expectation of the master in `slot` (master destroyed).
  void remove_master(std::uint32_t slot, Stats& stats);
  // Removes the expectations whose timeout has passed at `now`.
  void expire(Timestamp now, Stats& stats);
  // The same, but only walks the table when one is due.
  void expire_if_due(Timestamp now, Stats& stats) {
    if (count_ != 0 && now >= next_expiry_) expire(now, stats);
  }

  // Live expectations in creation order, as public views (master tuple is
  // filled by the caller, which owns the entries).
  template <class F>
  void for_each(F&& f) const {
    for (std::uint32_t i = all_head_; i != kNoExpect; i = pool_[i].all_next) f(view(i));
  }

 private:
  struct Node {
    Tuple tuple{};
    Addr mask_src{};
    std::uint16_t mask_sport = 0;
    std::uint8_t cls = 0;
    std::uint8_t flags = 0;
    std::uint8_t helper = 0;
    std::uint8_t child_helper = 0;
    std::uint32_t master_slot = 0;
    std::uint32_t master_id = 0;
    Tuple master_orig{};
    Timestamp expires = 0;
    std::uint32_t id = 0;
    std::uint32_t hnext = kNoExpect;                           // hash chain
    std::uint32_t all_prev = kNoExpect, all_next = kNoExpect;  // creation order
    std::uint32_t m_prev = kNoExpect, m_next = kNoExpect;      // master's list, newest first
  };
  struct MasterRec {
    HelperData data{};
    std::uint32_t head = kNoExpect;  // newest expectation of this master
    std::uint32_t expecting[kExpectClasses] = {0, 0, 0, 0};
  };

  void ensure_pool();
  std::uint32_t bucket_of(const Tuple& t) const;
  static bool masked_equal(const Tuple& t, const Node& e, const Addr& mask, std::uint16_t msport);
  void unlink(std::uint32_t i, Stats& stats);
  Expectation view(std::uint32_t i) const;

  std::uint32_t max_;
  std::vector<Node> pool_;
  std::vector<std::uint32_t> heads_;
  std::vector<MasterRec> masters_;
  std::uint32_t free_head_ = kNoExpect;
  std::uint32_t all_head_ = kNoExpect, all_tail_ = kNoExpect;
  std::uint32_t count_ = 0;
  std::uint32_t next_id_ = 1;
  Timestamp next_expiry_ = 0;  // no expectation expires before this
};

template <class MasterOk>
ExpectTable::Match ExpectTable::match(const Tuple& t, Timestamp now, Stats& stats,
                                      MasterOk&& master_ok) {
  if (count_ == 0) return {};
  expire_if_due(now, stats);
  if (count_ == 0) return {};
  for (std::uint32_t i = heads_[bucket_of(t)]; i != kNoExpect; i = pool_[i].hnext) {
    const Node& e = pool_[i];
    if ((e.flags & kExpectInactive) != 0 || !masked_equal(t, e, e.mask_src, e.mask_sport)) continue;
    const Match m{true, e.master_slot, e.master_id, e.child_helper};
    const bool permanent = (e.flags & kExpectPermanent) != 0;
    // The predicate may destroy an expired master, and with it this node.
    if (!master_ok(m.master_slot)) return {};
    if (!permanent) unlink(i, stats);
    return m;
  }
  return {};
}

}  // namespace ctrack
