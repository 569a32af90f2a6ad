#include "io/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace ctrack::io {

Progress::Progress(std::uint64_t total_bytes)
    : enabled_(isatty(STDERR_FILENO) == 1), total_bytes_(total_bytes), start_(Clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::update(std::uint64_t packets, std::uint64_t bytes_done) {
  if (!enabled_) return;
  const auto now = Clock::now();
  if (now - start_ < std::chrono::seconds(1)) return;
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(250)) return;
  last_draw_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double pct = total_bytes_ != 0 ? 100.0 * static_cast<double>(bytes_done) /
                                             static_cast<double>(total_bytes_)
                                       : 0.0;
  const double rate = static_cast<double>(packets) / secs;
  // \r returns to the start of the line, \033[K erases what is left of a
  // longer previous line.
  fmt::print(stderr, "\rctrack: {} packets, {:.0f}%, {:.2f} Mpps\033[K", packets, pct, rate / 1e6);
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (drawn_) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace ctrack::io
