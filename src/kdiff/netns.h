// The client -- router -- server topology of `ctrack kernel-diff`: three
// network namespaces joined by two veth pairs. Only the router forwards and
// tracks; client and server drop everything so no stack ever answers, and
// the router drops its own output so it never sends ICMP errors.
//
// Namespace names carry the owning pid ("ctkd-<pid>-r") so parallel runs never
// collide and `--cleanup` can tell leftovers of dead runs from live ones.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace ctrack::kdiff {

inline constexpr const char* kNsPrefix = "ctkd-";

// Runs argv (no shell), returns the exit status (-1 if it could not run) and
// the combined stdout+stderr.
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult run_command(const std::vector<std::string>& argv);

enum class Side : int { Client = 0, Server = 1 };

// Fixed link-layer addresses: each veth pair is its own L2 domain, so they
// only have to be unique per namespace, and static MACs let the router use
// permanent neighbour entries (no ARP/ND traffic at all).
struct LinkInfo {
  std::string ns;          // namespace of the end host
  std::string ifname;      // end host's veth
  std::array<unsigned char, 6> host_mac;
  std::array<unsigned char, 6> router_mac;  // the router's veth facing it
};

class Topology {
 public:
  // Builds the namespaces. On failure returns nullptr; `unsupported` is set
  // when the cause is missing privileges or namespace support (exit 77).
  static std::unique_ptr<Topology> create(std::string* error, bool* unsupported);
  ~Topology();  // deletes the namespaces (also done on SIGINT/SIGTERM/SIGHUP)
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  const LinkInfo& link(Side s) const { return links_[static_cast<int>(s)]; }
  const std::string& router_ns() const { return names_[1]; }

  // Moves the calling thread into a namespace / back to the original one.
  bool enter(const std::string& ns, std::string* error);
  bool enter_router(std::string* error) { return enter(router_ns(), error); }
  bool leave(std::string* error);

  // Writes a sysctl inside the router namespace (path relative to
  // /proc/sys, dots or slashes). The host's sysctls are never written.
  bool router_sysctl(const std::string& name, const std::string& value, std::string* error);

 private:
  Topology() = default;
  bool build(std::string* error);
  void destroy();

  std::array<std::string, 3> names_;  // client, router, server
  std::array<LinkInfo, 2> links_;
  int home_fd_ = -1;  // the namespace we started in
  bool in_other_ns_ = false;
};

// True if we are root and can create a network namespace.
bool namespaces_available(std::string* why);

// Deletes namespaces named ctkd-<pid>-* whose pid is no longer running.
// Returns the number removed; names them in `log`.
int cleanup_leftovers(std::string* log);

}  // namespace ctrack::kdiff
