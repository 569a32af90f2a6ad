#include "kdiff/injector.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace ctrack::kdiff {

Timestamp monotonic_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return Timestamp{ts.tv_sec} * kNsPerSec + ts.tv_nsec;
}

Injector::~Injector() {
  for (int fd : fd_) {
    if (fd >= 0) close(fd);
  }
}

bool Injector::open(Topology& topo, std::string* error) {
  for (int i = 0; i < 2; ++i) {
    link_[i] = topo.link(static_cast<Side>(i));
    if (!topo.enter(link_[i].ns, error)) return false;
    fd_[i] = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
    ifindex_[i] = static_cast<int>(if_nametoindex(link_[i].ifname.c_str()));
    if (fd_[i] < 0 || ifindex_[i] == 0) {
      *error = "AF_PACKET socket on " + link_[i].ifname + ": " + std::strerror(errno);
      topo.leave(error);
      return false;
    }
    // Our own transmissions would otherwise loop back into the socket.
    int one = 1;
    setsockopt(fd_[i], SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = ifindex_[i];
    if (bind(fd_[i], reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
      *error = "bind on " + link_[i].ifname + ": " + std::strerror(errno);
      topo.leave(error);
      return false;
    }
  }
  return topo.leave(error);
}

bool Injector::send(Side side, std::span<const std::uint8_t> l3, Timestamp* sent_at, std::string* error) {
  const int i = static_cast<int>(side);
  if (l3.empty()) {
    *error = "empty packet";
    return false;
  }
  std::vector<std::uint8_t> frame(14 + l3.size());
  std::memcpy(frame.data(), link_[i].router_mac.data(), 6);
  std::memcpy(frame.data() + 6, link_[i].host_mac.data(), 6);
  const std::uint16_t ethertype = (l3[0] >> 4) == 6 ? ETH_P_IPV6 : ETH_P_IP;
  frame[12] = static_cast<std::uint8_t>(ethertype >> 8);
  frame[13] = static_cast<std::uint8_t>(ethertype & 0xff);
  std::memcpy(frame.data() + 14, l3.data(), l3.size());
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex_[i];
  sll.sll_halen = 6;
  std::memcpy(sll.sll_addr, link_[i].router_mac.data(), 6);
  *sent_at = monotonic_now();
  if (sendto(fd_[i], frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) {
    *error = std::string("sendto: ") + std::strerror(errno);
    return false;
  }
  return true;
}

void Injector::drain(Side side) {
  const int fd = fd_[static_cast<int>(side)];
  std::uint8_t buf[65536];
  while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
  }
}

bool Injector::wait_arrival(Side side, int timeout_ms) {
  pollfd p{fd_[static_cast<int>(side)], POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return false;
  drain(side);
  return true;
}

}  // namespace ctrack::kdiff
