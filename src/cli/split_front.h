// The front of a quiet `ctrack replay --threads N`, split between the N
// workers, for a capture read from a mapping (replay_replicated.cc).
//
// Why: when every worker walks the whole capture itself (the replicated
// front), each pays for reading every record, its link layer and its
// steering hash, about 40 % of one thread's work on the benchmark capture,
// so two threads ran only ~1.3-1.5x one. Here the capture is cut into chunks
// of records, and each chunk's front work is done once, by one worker:
//
//  * Index (sequential): walk the chunk's records, strip the link layer and
//    admit each frame on the clock. The read position and the clock go from
//    chunk to chunk, so chunk c+1 can be indexed only after chunk c; chunk c
//    is indexed by worker c mod N, which hands the turn on as soon as it is
//    done. This is the cheap part (record headers, already-mapped pages).
//  * Steer (parallel): the same worker then hashes each packet to its shard
//    and writes one list of operations per shard, in record order: track
//    (the shard's own packets), sweep (another shard's packet whose ticket
//    carries GC work) and fragment (a packet that may be a fragment: every
//    worker runs it through its own defragmenter, as in the replicated
//    front, so that all agree on every datagram).
//  * Track (parallel): each worker runs its own list of every chunk, in chunk
//    order, so each shard sees exactly the packets, tickets and sweeps that a
//    single front would have given it: the output is that of one thread.
//
// Chunks live in a ring of slots; a slot is refilled only after every worker
// has tracked the chunk in it. Hand-overs are an atomic turn counter and,
// per slot, a "ready" chunk number and a "released" count (acquire/release):
// no lock, and a waiting worker spins briefly, then yields. A worker that
// cannot index (not its turn, or the slot still in use) tracks instead, so
// no worker waits while there is work it can do, and none can wait forever
// for a slot: the chunks that hold them are older than anything indexed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ctrack/sharded_engine.h"
#include "io/pcap_source.h"

namespace ctrack::cli {

// False only for packets that certainly are not fragments, without a full
// parse (the fronts of both --threads pipelines ask this of every packet). What it lets through goes
// to Engine::reassemble, which parses and decides; what it rules out the
// defragmenter would have returned untouched.
bool may_be_fragment(std::span<const std::uint8_t> l3);

// One frame whose link layer parsed, as the index pass leaves it.
struct FrontRecord {
  const std::uint8_t* frame = nullptr;  // in the capture's mapping
  std::uint32_t caplen = 0;
  std::uint32_t orig_len = 0;
  std::uint32_t l3_offset = 0;
  bool may_fragment = false;
  ShardedEngine::Ticket ticket;

  std::span<const std::uint8_t> data() const { return {frame, caplen}; }
  std::span<const std::uint8_t> l3() const { return data().subspan(l3_offset); }
};

// A shard's operation on a record: the record's index in the low bits.
enum class FrontOp : std::uint32_t { Track = 0, Sweep = 1, Fragment = 2 };
constexpr unsigned kFrontOpShift = 30;
constexpr std::uint32_t kFrontIndexMask = (std::uint32_t{1} << kFrontOpShift) - 1;
inline FrontOp front_op(std::uint32_t op) { return static_cast<FrontOp>(op >> kFrontOpShift); }
inline std::uint32_t make_front_op(FrontOp kind, std::uint32_t record) {
  return record | (static_cast<std::uint32_t>(kind) << kFrontOpShift);
}

struct FrontChunk {
  std::vector<FrontRecord> records;
  // Shard k's operations, in record order: op_store[k * capacity, + op_count[k]).
  std::vector<std::uint32_t> op_store;
  std::vector<std::uint32_t> op_count;
  std::uint32_t capacity = 0;     // records per chunk
  std::uint64_t frames = 0;       // frames read, link-layer errors included
  std::uint64_t link_errors = 0;  // frames whose link layer did not parse
  std::uint64_t bytes_read = 0;   // position in the file after the chunk
  bool failed = false;            // the capture is damaged right after this chunk
  std::string error;              // ... and this says where

  std::span<const std::uint32_t> ops(unsigned shard) const {
    return {op_store.data() + std::size_t{shard} * capacity, op_count[shard]};
  }
};

class SplitFront {
 public:
  static constexpr std::uint32_t kDefaultChunk = 1024;  // records per chunk
  // Ring slots per worker: 16 chunks of 1024 records are a few milliseconds
  // of tracking, so a worker that the host takes off its CPU for about that
  // long does not hold the others up (they index and track ahead of it).
  static constexpr std::uint32_t kSlotsPerWorker = 16;

  // `source`: an opened capture with frames_stable(); one worker per shard
  // of `se` (at most 64, --threads' limit).
  SplitFront(std::unique_ptr<PcapSource> source, const ShardedEngine& se,
             std::uint32_t chunk_records);
  ~SplitFront();
  SplitFront(const SplitFront&) = delete;
  SplitFront& operator=(const SplitFront&) = delete;

  int linktype() const { return linktype_; }
  std::uint64_t file_size() const { return file_size_; }

  // Worker `w`'s share of the file: indexes and steers its chunks and calls
  // track(chunk) for every chunk of the file, in order, returning when all
  // workers have tracked all chunks. `clock` is the worker's copy of the clock, current when the
  // file starts (all copies agree); on return it is current after the file.
  // Every worker of the engine must run this, each on its own thread.
  void run(ShardedEngine::Clock& clock, const std::function<void(const FrontChunk&)>& track);

  // Tests only: called with the chunk number by the worker that indexed it,
  // after it gave the turn on and before it steers (where the host may
  // deschedule it). Set before run().
  void set_steer_hook(std::function<void(std::uint32_t)> hook) { steer_hook_ = std::move(hook); }

 private:
  struct alignas(64) Slot {
    FrontChunk chunk;
    std::atomic<std::uint32_t> ready{~std::uint32_t{0}};  // chunk whose lists are complete
    std::atomic<std::uint32_t> released{0};               // workers done with it
  };

  Slot& slot(std::uint32_t chunk) { return slots_[chunk % slots_.size()]; }
  bool try_index(const ShardedEngine::Clock& clock);  // false if it could not
  bool index(FrontChunk& ch);                         // false at the end of the file
  void steer(FrontChunk& ch) const;

  std::unique_ptr<PcapSource> source_;  // only the worker holding the turn reads it;
                                        // closed when read to the end
  const ShardedEngine& se_;
  const unsigned workers_;
  const std::uint32_t chunk_records_;
  const int linktype_;
  const std::uint64_t file_size_;
  ShardedEngine::Clock clock_;  // goes with the turn
  std::vector<Slot> slots_;
  // Whoever sets `indexing_` owns the source, the clock and `turn_` (the
  // next chunk to index) until it clears it.
  alignas(64) std::atomic<bool> indexing_{false};
  std::uint32_t turn_ = 0;
  std::atomic<std::uint32_t> indexed_{0};              // turn_, for a look without the flag
  std::atomic<std::uint32_t> end_{~std::uint32_t{0}};  // chunk count, once known
  alignas(64) std::atomic<unsigned> finished_{0};      // workers done with the file
  std::atomic<bool> released_{false};                  // ... all of them, and the buffers are freed
  std::function<void(std::uint32_t)> steer_hook_;
};

}  // namespace ctrack::cli
