#include "defrag/frag_queue.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace ctrack::defrag {

std::uint32_t FragStore::fragment_charge(std::uint32_t l3_len) {
  // Ethernet header + NET_SKB_PAD headroom, rounded up to the allocation
  // size, plus sizeof(sk_buff) + skb_shared_info.
  constexpr std::uint32_t kHeadroom = 14 + 64;
  constexpr std::uint32_t kSkbOverhead = 896;
  return std::bit_ceil(std::max<std::uint32_t>(l3_len + kHeadroom, 256)) + kSkbOverhead;
}

std::uint32_t FragStore::hash(const FragKey& key) {
  // FNV-1a over the key's bytes: the table is small and the key is not
  // attacker-chosen beyond what the flood limit already bounds.
  std::uint32_t h = 2166136261u;
  auto mix = [&h](const std::uint8_t* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619u;
  };
  mix(key.src.b.data(), key.src.b.size());
  mix(key.dst.b.data(), key.dst.b.size());
  const std::uint8_t rest[7] = {static_cast<std::uint8_t>(key.id >> 24),
                                static_cast<std::uint8_t>(key.id >> 16),
                                static_cast<std::uint8_t>(key.id >> 8),
                                static_cast<std::uint8_t>(key.id),
                                key.family,
                                key.proto,
                                key.user};
  mix(rest, sizeof rest);
  return h % kBuckets;
}

std::uint32_t FragStore::find(const FragKey& key) const {
  if (buckets_.empty()) return kNone;
  for (std::uint32_t q = buckets_[hash(key)]; q != kNone; q = queues_[q].hash_next) {
    if (queues_[q].key == key) return q;
  }
  return kNone;
}

std::uint32_t FragStore::create(const FragKey& key, Timestamp expires, std::uint32_t datagram,
                                FragDir& dir) {
  if (buckets_.empty()) buckets_.assign(kBuckets, kNone);
  std::uint32_t q;
  if (!free_queues_.empty()) {
    q = free_queues_.back();
    free_queues_.pop_back();
  } else {
    q = static_cast<std::uint32_t>(queues_.size());
    queues_.emplace_back();
  }
  FragQueue& fq = queues_[q];
  fq = FragQueue{};
  fq.key = key;
  fq.expires = expires;
  fq.datagram = datagram;
  fq.mem = kQueueCharge;
  dir.mem += kQueueCharge;
  const std::uint32_t b = hash(key);
  fq.hash_next = buckets_[b];
  buckets_[b] = q;
  fq.age_prev = dir.newest;
  if (dir.newest != kNone) queues_[dir.newest].age_next = q;
  dir.newest = q;
  if (dir.oldest == kNone) dir.oldest = q;
  return q;
}

void FragStore::unlink_hash(std::uint32_t q) {
  std::uint32_t* link = &buckets_[hash(queues_[q].key)];
  while (*link != kNone && *link != q) link = &queues_[*link].hash_next;
  if (*link == q) *link = queues_[q].hash_next;
}

void FragStore::kill(std::uint32_t q, FragDir& dir) {
  FragQueue& fq = queues_[q];
  unlink_hash(q);
  if (fq.age_prev != kNone) {
    queues_[fq.age_prev].age_next = fq.age_next;
  } else {
    dir.oldest = fq.age_next;
  }
  if (fq.age_next != kNone) {
    queues_[fq.age_next].age_prev = fq.age_prev;
  } else {
    dir.newest = fq.age_prev;
  }
  for (std::uint32_t f = fq.frags; f != kNone;) {
    const std::uint32_t next = frags_[f].next;
    for (std::uint32_t c = frags_[f].chunk; c != kNone;) {
      const std::uint32_t cn = chunk_next_[c];
      chunk_next_[c] = free_chunks_;
      free_chunks_ = c;
      c = cn;
    }
    frags_[f].next = free_frags_;
    free_frags_ = f;
    f = next;
  }
  dir.mem -= fq.mem;
  fq = FragQueue{};
  free_queues_.push_back(q);
}

std::uint32_t FragStore::expire(FragDir& dir, Timestamp now) {
  // Queues are created with one timeout per family, so creation order is
  // expiry order (barring a timeout changed at run time).
  std::uint32_t n = 0;
  while (dir.oldest != kNone && queues_[dir.oldest].expires <= now) {
    kill(dir.oldest, dir);
    ++n;
  }
  return n;
}

InsertResult FragStore::check(const FragQueue& q, std::uint32_t offset, std::uint32_t end) const {
  if (q.tail == kNone) return InsertResult::Ok;
  const FragRec& tail = frags_[q.tail];
  if (tail.end < end) return offset < tail.end ? InsertResult::Overlap : InsertResult::Ok;
  for (std::uint32_t f = q.frags; f != kNone; f = frags_[f].next) {
    const FragRec& r = frags_[f];
    if (!r.run_head) continue;
    if (end <= r.offset) break;
    if (offset >= r.run_end) continue;
    return offset >= r.offset && end <= r.run_end ? InsertResult::Duplicate : InsertResult::Overlap;
  }
  return InsertResult::Ok;
}

std::uint32_t FragStore::alloc_chunk() {
  if (free_chunks_ != kNone) {
    const std::uint32_t c = free_chunks_;
    free_chunks_ = chunk_next_[c];
    chunk_next_[c] = kNone;
    return c;
  }
  chunks_.emplace_back();
  chunk_next_.push_back(kNone);
  return static_cast<std::uint32_t>(chunks_.size() - 1);
}

std::uint32_t FragStore::alloc_frag() {
  if (free_frags_ != kNone) {
    const std::uint32_t f = free_frags_;
    free_frags_ = frags_[f].next;
    return f;
  }
  frags_.emplace_back();
  return static_cast<std::uint32_t>(frags_.size() - 1);
}

void FragStore::insert(std::uint32_t q, std::uint32_t offset, std::uint32_t end,
                       std::span<const std::uint8_t> hdr, std::span<const std::uint8_t> data,
                       std::uint32_t charge, FragDir& dir) {
  const std::uint32_t f = alloc_frag();
  {
    FragRec& r = frags_[f];
    r = FragRec{};
    r.offset = offset;
    r.end = end;
    r.hdr_len = static_cast<std::uint32_t>(hdr.size());
  }
  // Copy header then data into a fresh chunk chain. Links are kept as
  // indices: alloc_chunk() may grow (move) the pools.
  std::uint32_t prev = kNone;
  std::uint32_t room = 0;
  std::uint8_t* dst = nullptr;
  for (std::span<const std::uint8_t> part : {hdr, data}) {
    while (!part.empty()) {
      if (room == 0) {
        const std::uint32_t c = alloc_chunk();
        if (prev == kNone) {
          frags_[f].chunk = c;
        } else {
          chunk_next_[prev] = c;
        }
        prev = c;
        dst = chunks_[c].data();
        room = kChunk;
      }
      const std::uint32_t n =
          std::min<std::uint32_t>(room, static_cast<std::uint32_t>(part.size()));
      std::memcpy(dst, part.data(), n);
      dst += n;
      room -= n;
      part = part.subspan(n);
    }
  }

  FragQueue& fq = queues_[q];
  FragRec& r = frags_[f];
  const FragRec* tail = fq.tail == kNone ? nullptr : &frags_[fq.tail];
  if (tail == nullptr) {
    r.run_head = true;
    r.run_end = end;
    fq.frags = f;
    fq.tail = f;
    fq.last_run = f;
  } else if (tail->end < end) {
    // At the end: joins the last run if it starts where that run stops.
    if (offset == tail->end) {
      frags_[fq.last_run].run_end = end;
    } else {
      r.run_head = true;
      r.run_end = end;
      fq.last_run = f;
    }
    frags_[fq.tail].next = f;
    fq.tail = f;
  } else {
    // In the middle: always a run of its own.
    r.run_head = true;
    r.run_end = end;
    std::uint32_t* pos = &fq.frags;
    while (*pos != kNone && frags_[*pos].offset < offset) pos = &frags_[*pos].next;
    r.next = *pos;
    *pos = f;
  }
  ++fq.count;
  fq.meat += end - offset;
  fq.mem += charge;
  dir.mem += charge;
}

void FragStore::copy_out(std::uint32_t f, std::uint32_t from, std::uint32_t n,
                         std::uint8_t* out) const {
  std::uint32_t c = frags_[f].chunk;
  while (from >= kChunk) {
    c = chunk_next_[c];
    from -= kChunk;
  }
  while (n > 0) {
    const std::uint32_t k = std::min(n, kChunk - from);
    std::memcpy(out, chunks_[c].data() + from, k);
    out += k;
    n -= k;
    from = 0;
    c = chunk_next_[c];
  }
}

}  // namespace ctrack::defrag
