#include "core/conn_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <new>
#include <utility>

namespace ctrack {
namespace {
constexpr std::size_t kHugePage = std::size_t{2} << 20;

// Faults a fresh anonymous region in, writable and zero, without writing it
// from user space. Left to fault in lazily, a page that is read before it is
// written maps the shared zero page first and needs a second fault to become
// writable, and with several threads in the process that second fault
// replaces a mapping the other CPUs may cache: a TLB shoot-down each
// (`replay -q --threads 2` of 2,000 packets: 800 -> 1290 faults, 7 -> 11 ms).
void populate_for_write(void* p, std::size_t bytes) {
#ifdef MADV_POPULATE_WRITE
  if (::madvise(p, bytes, MADV_POPULATE_WRITE) == 0) return;
#endif
  // Kernels before 5.14: one write per 4 KiB (every page, whatever the
  // page size) does the same.
  auto* b = static_cast<volatile unsigned char*>(p);
  for (std::size_t i = 0; i < bytes; i += 4096) b[i] = 0;
}

}  // namespace

HugeRegion::HugeRegion(std::size_t bytes, std::size_t small_prefix) {
  const bool huge = bytes >= kHugePage;
  map_len_ = huge ? bytes + kHugePage : bytes;
  void* p = ::mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  map_ = p;
  auto addr = reinterpret_cast<std::uintptr_t>(p);
  if (huge) {
    addr = (addr + kHugePage - 1) & ~(kHugePage - 1);
    const std::size_t prefix = std::min(bytes, (small_prefix + kHugePage - 1) & ~(kHugePage - 1));
    // Advisory: without THP the region simply stays on small pages.
    if (prefix != 0) ::madvise(reinterpret_cast<void*>(addr), prefix, MADV_NOHUGEPAGE);
    if (prefix != bytes)
      ::madvise(reinterpret_cast<void*>(addr + prefix), bytes - prefix, MADV_HUGEPAGE);
  }
  data_ = reinterpret_cast<void*>(addr);
}

HugeRegion::~HugeRegion() {
  if (map_ != nullptr) ::munmap(map_, map_len_);
}

HugeRegion::HugeRegion(HugeRegion&& o) noexcept
    : map_(std::exchange(o.map_, nullptr)),
      map_len_(std::exchange(o.map_len_, 0)),
      data_(std::exchange(o.data_, nullptr)) {}

HugeRegion& HugeRegion::operator=(HugeRegion&& o) noexcept {
  if (this != &o) {
    if (map_ != nullptr) ::munmap(map_, map_len_);
    map_ = std::exchange(o.map_, nullptr);
    map_len_ = std::exchange(o.map_len_, 0);
    data_ = std::exchange(o.data_, nullptr);
  }
  return *this;
}

ConnTable::ConnTable(std::uint32_t buckets, std::uint64_t seed)
    : key_(HashKey::from_seed(seed)), nbuckets_(buckets) {
  alloc_heads(buckets);
}

void ConnTable::alloc_heads(std::uint32_t buckets) {
  heads_mem_ = HugeRegion(std::size_t{buckets} * sizeof(std::uint32_t));
  heads_ = static_cast<std::uint32_t*>(heads_mem_.data());  // zero: every bucket empty
  populate_for_write(heads_, std::size_t{buckets} * sizeof(std::uint32_t));
}

Hit ConnTable::peek(const Tuple& t, std::uint32_t h, const Tuple* inv, Timestamp now) const {
  for (std::uint32_t slot = head(bucket(h)); slot != kNoConn; slot = at(slot).next) {
    const Conn& c = at(slot);
    const int dir = match(c, t, inv);
    if (dir >= 0 && c.expires - now > 0) return Hit{slot, static_cast<Direction>(dir)};
  }
  return Hit{};
}

void ConnTable::unlink(std::uint32_t slot, const Tuple& reply) {
  Conn& c = at(slot);
  const std::uint32_t b = bucket(hash(c.orig, &reply));
  if (head(b) == slot) {
    heads_[b] = ~c.next;
  } else {
    for (std::uint32_t prev = head(b); prev != kNoConn; prev = at(prev).next) {
      if (at(prev).next == slot) {
        at(prev).next = c.next;
        break;
      }
    }
  }
  c.next = kNoConn;
}

std::uint32_t ConnTable::alloc_slot() {
  if (free_head_ != kNoConn) {
    std::uint32_t slot = free_head_;
    free_head_ = at(slot).next;
    return slot;
  }
  if ((next_fresh_ >> kChunkBits) >= chunks_.size()) {
    // The first 2 MiB of entries (~17,000) stay on small pages: a huge page
    // is zeroed whole at the first entry, which made every small table
    // (a test, a short capture, one of many embedded engines) cost 2 MiB
    // of memory and of zeroing; a large table has all its other chunks huge.
    chunks_.emplace_back(std::size_t{kChunkSize} * sizeof(Conn), chunks_.empty() ? kHugePage : 0);
    chunk_ptrs_.push_back(static_cast<Conn*>(chunks_.back().data()));
  }
  const std::uint32_t slot = next_fresh_++;
  new (&at(slot)) Conn{};  // first touch of this entry's memory
  return slot;
}

void ConnTable::free_slot(std::uint32_t slot) {
  Conn& c = at(slot);
  c = Conn{};
  c.next = free_head_;
  free_head_ = slot;
}

void ConnTable::resize(std::uint32_t buckets,
                       const std::vector<std::pair<std::uint32_t, Tuple>>& linked) {
  nbuckets_ = buckets;
  alloc_heads(buckets);
  for (const auto& [slot, reply] : linked) link(slot, reply);
}

std::size_t ConnTable::memory_bytes() const {
  // What is touched: the bucket array and every entry handed out so far.
  return std::size_t{nbuckets_} * sizeof(std::uint32_t) + std::size_t{next_fresh_} * sizeof(Conn);
}

}  // namespace ctrack
