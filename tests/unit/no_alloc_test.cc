// The established path must not touch the heap: count every operator new in
// this binary and run established traffic through a warmed-up engine.
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

#include "ctrack/engine.h"
#include "support/packet_builder.h"

namespace {
std::atomic<std::uint64_t> g_allocations{0};
}

// Every replaceable allocation function is replaced, so that whichever form
// the library (or libstdc++, e.g. stable_sort's nothrow temporary buffer)
// uses, allocation and deallocation go through the same malloc/free pair:
// replacing only some of them makes ASan report alloc-dealloc mismatches.
namespace {
void* counted_alloc(std::size_t n, std::size_t align = 0) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (n == 0) n = 1;
  if (align <= alignof(std::max_align_t)) return std::malloc(n);
  n = (n + align - 1) / align * align;  // aligned_alloc wants a multiple
  return std::aligned_alloc(align, n);
}
void* counted_alloc_or_throw(std::size_t n, std::size_t align = 0) {
  if (void* p = counted_alloc(n, align)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc_or_throw(n); }
void* operator new[](std::size_t n) { return counted_alloc_or_throw(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  return counted_alloc_or_throw(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return counted_alloc_or_throw(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace ctrack {
namespace {
using namespace ctrack::test;

TEST(HotPath, EstablishedTcpAndUdpPacketsDoNotAllocate) {
  Config cfg = Config::for_profile(Profile::Linux, 1024);
  cfg.hash_seed = 3;
  Engine e(cfg);
  Endpoint c = ep4("192.0.2.1", 40000), s = ep4("198.51.100.1", 80);
  Bytes syn = tcp(c, s, {.flags = SYN, .seq = 1000, .ack = 0});
  Bytes synack = tcp(s, c, {.flags = SYN | ACK, .seq = 5000, .ack = 1001});
  Bytes ack = tcp(c, s, {.flags = ACK, .seq = 1001, .ack = 5001});
  Bytes data = tcp(c, s, {.flags = ACK | PSH, .seq = 1001, .ack = 5001, .payload = "hello"});
  Bytes dack = tcp(s, c, {.flags = ACK, .seq = 5001, .ack = 1006});
  Bytes uq = udp(ep4("192.0.2.1", 5353), ep4("198.51.100.1", 53), "q");
  Bytes ur = udp(ep4("198.51.100.1", 53), ep4("192.0.2.1", 5353), "r");
  e.process(syn, seconds(1));
  e.process(synack, seconds(1));
  e.process(ack, seconds(1));
  e.process(uq, seconds(1));
  e.process(ur, seconds(1));
  const std::uint64_t before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) {
    Result r1 = e.process(data, seconds(2));
    Result r2 = e.process(dack, seconds(2));
    Result r3 = e.process(uq, seconds(2));
    ASSERT_EQ(r1.state, CtState::Established);
    ASSERT_EQ(r2.state, CtState::Established);
    ASSERT_EQ(r3.state, CtState::Established);
  }
  EXPECT_EQ(g_allocations.load() - before, 0u);
}

}  // namespace
}  // namespace ctrack
