// Sends captured L3 packets into the router from the client or server side:
// an AF_PACKET socket on the end host's veth, framed for the router's MAC.
// The IP packet goes out byte for byte (original checksums), and no end
// host needs an address or a route.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "ctrack/types.h"
#include "kdiff/netns.h"

namespace ctrack::kdiff {

class Injector {
 public:
  Injector() = default;
  ~Injector();
  Injector(const Injector&) = delete;
  Injector& operator=(const Injector&) = delete;

  // Opens one socket per side, each inside its namespace (a socket stays
  // bound to the namespace it was created in). Leaves the thread back in
  // its original namespace.
  bool open(Topology& topo, std::string* error);

  // Sends `l3` from `side`; returns the CLOCK_MONOTONIC time of the send
  // in `sent_at`.
  bool send(Side side, std::span<const std::uint8_t> l3, Timestamp* sent_at, std::string* error);

  // Discards anything queued on `side` (frames forwarded by the router).
  void drain(Side side);
  // Waits up to `timeout_ms` for a frame forwarded by the router to arrive
  // on `side`. Used to know the router finished with a packet (its
  // conntrack entry is confirmed at postrouting, after the counters).
  bool wait_arrival(Side side, int timeout_ms);

 private:
  int fd_[2] = {-1, -1};
  int ifindex_[2] = {0, 0};
  LinkInfo link_[2];
};

Timestamp monotonic_now();

}  // namespace ctrack::kdiff
