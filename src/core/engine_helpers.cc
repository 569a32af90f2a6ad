// The engine's side of helpers and expectations: which helper a new entry
// gets, the RELATED child of an expectation (init_conntrack), and running
// the helper at confirm time (nf_confirm), linux-core.md §0.2 and §7.
#include <algorithm>
#include <cstring>

#include "core/engine_core.h"
#include "core/l4_dispatch.h"
#include "helpers/helper_list.h"

namespace ctrack {
namespace {

bool helper_fits(std::uint8_t id, const Tuple& t) {
  const std::uint8_t proto = helper_proto(id);
  if (proto == 0 || proto != t.proto) return false;
  return with_helper(
      id, [&]<class H>() { return H::kInfo.family == 0 || H::kInfo.family == t.family; },
      []() { return false; });
}

CtInfo ctinfo_of(CtState state, Direction dir) {
  const bool reply = dir == Direction::Reply;
  switch (state) {
    case CtState::New:
      return CtInfo::New;
    case CtState::Related:
      return reply ? CtInfo::RelatedReply : CtInfo::Related;
    default:
      return reply ? CtInfo::EstablishedReply : CtInfo::Established;
  }
}

}  // namespace

void EngineCore::resolve_helper_attachments() {
  for (const HelperAttachment& a : cfg_.helpers) {
    const std::uint8_t id = helper_id(a.name);
    if (id != 0) attach_.push_back(HelperAttach{a.proto, a.port, id});
  }
  if (cfg_.auto_helpers) {
    // As helpers registered on their default ports once did: matched on the
    // reply tuple's source port, i.e. the original destination port.
    for (std::uint8_t id = 1; id < kHelperIdEnd; ++id) {
      attach_.push_back(HelperAttach{helper_proto(id), helper_default_port(id), id});
    }
  }
}

void EngineCore::attach_new(Conn& c, std::uint32_t slot, CtTemplate tmpl) {
  const ExpectTable::Match m = expects_.match(c.orig, now_, stats_, [&](std::uint32_t mslot) {
    Conn& master = table_.at(mslot);
    if (!master.has(kStatusConfirmed) || master.has(kStatusDying)) return false;
    if (master.expires - now_ <= 0) {
      // Timed out but not yet collected: it and its expectations are gone.
      destroy(mslot);
      ++stats_.expired;
      return false;
    }
    return true;
  });
  std::uint8_t id = 0;
  if (m.found) {
    c.status |= kStatusExpected;
    c.master = m.master_id;
    ++stats_.expect_new;
    id = m.child_helper;
  } else if (tmpl.helper != 0) {
    if (helper_fits(tmpl.helper, c.orig)) {
      id = tmpl.helper;
      c.status |= kStatusHelper;
    }
  } else {
    for (const HelperAttach& a : attach_) {
      if (a.proto == c.orig.proto && a.port == c.orig.dst_id && helper_fits(a.id, c.orig)) {
        id = a.id;
        if (!cfg_.auto_helpers) c.status |= kStatusHelper;
        break;
      }
    }
  }
  if (id != 0) {
    c.helper = id;
    expects_.attach(slot);
  }
}

void EngineCore::expectation_lost_to_invalid(const Tuple& t) {
  Tuple inv;
  if (!invert_tuple(t, inv) || find(t) != nullptr) return;
  const ExpectTable::Match m = expects_.match(t, now_, stats_, [&](std::uint32_t mslot) {
    const Conn& master = table_.at(mslot);
    return master.has(kStatusConfirmed) && !master.has(kStatusDying) && master.expires - now_ > 0;
  });
  if (m.found) ++stats_.expect_new;
}

void EngineCore::defer_helper(const Packet& pkt, std::uint32_t slot, Direction dir, CtState state) {
  const CtInfo ci = ctinfo_of(state, dir);
  if (ci == CtInfo::RelatedReply) return;
  if (helper_buf_.size() < pkt.len) helper_buf_.resize(std::max<std::size_t>(pkt.len, 2048));
  std::memcpy(helper_buf_.data(), pkt.data, pkt.len);
  helper_pkt_ = pkt;
  helper_pkt_.data = helper_buf_.data();
  helper_slot_ = slot;
  helper_dir_ = dir;
  helper_ctinfo_ = ci;
  helper_pending_ = true;
}

HelperVerdict EngineCore::run_deferred_helper() {
  helper_pending_ = false;
  Conn& c = table_.at(helper_slot_);
  if (c.helper == 0 || c.has(kStatusDying)) return HelperVerdict::Accept;
  HelperCtx ctx{c,
                helper_slot_,
                helper_pkt_,
                helper_dir_,
                helper_ctinfo_,
                now_,
                cfg_,
                expects_.data(helper_slot_),
                expects_,
                stats_};
  return with_helper(
      c.helper, [&]<class H>() { return H::help(ctx); }, []() { return HelperVerdict::Accept; });
}

std::vector<Expectation> EngineCore::expectations() const {
  std::vector<Expectation> out;
  expects_.for_each([&](const Expectation& e) {
    if (e.expires - now_ > 0) out.push_back(e);
  });
  return out;
}

std::size_t EngineCore::expectation_count() const {
  std::size_t n = 0;
  expects_.for_each([&](const Expectation& e) { n += e.expires - now_ > 0 ? 1 : 0; });
  return n;
}

std::int64_t EngineCore::timeout_left(const Expectation& e) const {
  const Timestamp left = e.expires - now_;
  return left <= 0 ? 0 : left / kNsPerSec;
}

}  // namespace ctrack
