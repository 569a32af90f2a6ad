// The progress line of a long replay: shown on stderr only when stderr is a
// terminal and the replay has run for more than a second, refreshed a few
// times per second, and erased at the end so that it never ends up in logs.
#pragma once

#include <chrono>
#include <cstdint>

namespace ctrack::io {

class Progress {
 public:
  // `total_bytes`: the size of all inputs (for the percentage).
  explicit Progress(std::uint64_t total_bytes);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return enabled_; }
  // Cheap enough to call every few thousand packets; reads the clock and
  // redraws at most every 250 ms.
  void update(std::uint64_t packets, std::uint64_t bytes_done);
  // Erases the line (if drawn). Also done by the destructor.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  bool enabled_ = false;
  bool drawn_ = false;
  std::uint64_t total_bytes_ = 0;
  Clock::time_point start_;
  Clock::time_point last_draw_;
};

}  // namespace ctrack::io
