// The engine's private state and per-packet pipeline (nf_conntrack_in +
// nf_confirm). Kept out of the public header so the API stays stable.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/conn_table.h"
#include "ctrack/config.h"
#include "ctrack/engine.h"
#include "ctrack/stats.h"
#include "parse/packet.h"
#include "proto/l4proto.h"

namespace ctrack {

class EngineCore {
 public:
  explicit EngineCore(const Config& cfg);

  Result track(std::span<const std::uint8_t> l3, Timestamp now, Hook hook, CtTemplate tmpl);
  // Tracks an already parsed packet (the defragmenter hands reassembled
  // datagrams in here).
  Result track_parsed(const Packet& pkt, Hook hook, CtTemplate tmpl);
  void confirm();
  void discard();
  void expire_all(Timestamp now);

  const Conn* find(const Tuple& t) const;
  const Conn* find_id(std::uint32_t id) const;
  std::vector<const Conn*> entries() const;
  std::int64_t timeout_left(const Conn& c) const;
  const char* state_name(const Conn& c) const;
  bool set(std::string_view name, std::string_view value, std::string* error);

  const Stats& stats() const { return stats_; }
  const Config& config() const { return cfg_; }
  Timestamp now() const { return now_; }
  std::size_t memory_bytes() const { return table_.memory_bytes(); }

 private:
  template <class T>
  Result track_l4(const Packet& pkt, Hook hook);
  Result icmp_error_related(const Packet& pkt);
  Result untracked_result(const Packet& pkt) const;

  void advance_time(Timestamp now);
  void gc_step();
  // Allocates an unconfirmed entry, early-dropping if the table is full.
  // Returns kNoConn when nothing could be evicted.
  std::uint32_t alloc_conn(const Tuple& t, std::uint32_t hash);
  bool early_drop(std::uint32_t hash);
  // Removes a confirmed entry from the index and frees it now.
  void destroy(std::uint32_t slot);
  // Removes it from the index but keeps the slot until the next packet so
  // the caller's Result can still show it.
  void destroy_deferred(std::uint32_t slot);
  void release_deferred();
  Tuple reply_of(const Conn& c) const;

  Config cfg_;
  ConnTable table_;
  Stats stats_;
  Timestamp now_ = 0;
  bool time_started_ = false;
  Timestamp next_gc_ = 0;
  std::uint32_t gc_cursor_ = 0;
  std::uint32_t next_id_ = 1;
  std::uint32_t pending_ = kNoConn;   // unconfirmed entry of the last track()
  std::uint32_t deferred_ = kNoConn;  // destroyed entry kept for the Result
  std::uint64_t count_ = 0;           // entries incl. the unconfirmed one
};

}  // namespace ctrack
