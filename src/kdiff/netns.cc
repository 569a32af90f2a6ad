#include "kdiff/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace ctrack::kdiff {
namespace {

// Paths of the live namespaces, kept in plain buffers so the signal handler
// can remove them with async-signal-safe calls only (umount2 + unlink is what
// `ip netns del` does).
constexpr int kMaxNs = 3;
char g_ns_paths[kMaxNs][128];
volatile sig_atomic_t g_ns_count = 0;

void remove_ns_paths_signal_safe() {
  for (int i = 0; i < g_ns_count; ++i) {
    if (g_ns_paths[i][0] == '\0') continue;
    umount2(g_ns_paths[i], MNT_DETACH);
    unlink(g_ns_paths[i]);
  }
}

void on_fatal_signal(int sig) {
  remove_ns_paths_signal_safe();
  signal(sig, SIG_DFL);
  raise(sig);
}

void install_signal_cleanup() {
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  // Crashes too (of ctrack's engine as much as of the harness): the
  // namespaces must not outlive the process whatever ends it.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) {
    sigaction(sig, &sa, nullptr);
  }
}

std::string mac_text(const std::array<unsigned char, 6>& m) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

bool pid_alive(long pid) { return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv) {
  CommandResult r;
  int pipefd[2];
  if (argv.empty() || pipe2(pipefd, O_CLOEXEC) != 0) return r;
  pid_t pid = fork();
  if (pid < 0) {
    close(pipefd[0]);
    close(pipefd[1]);
    return r;
  }
  if (pid == 0) {
    dup2(pipefd[1], 1);
    dup2(pipefd[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(pipefd[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) r.output.append(buf, static_cast<std::size_t>(n));
  }
  close(pipefd[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

bool namespaces_available(std::string* why) {
  if (geteuid() != 0) {
    *why = "not running as root";
    return false;
  }
  // Try it in a child so our own namespace is untouched.
  pid_t pid = fork();
  if (pid == 0) _exit(unshare(CLONE_NEWNET) == 0 ? 0 : 1);
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    *why = "cannot create network namespaces (unshare(CLONE_NEWNET) failed)";
    return false;
  }
  if (run_command({"ip", "-V"}).status != 0 || run_command({"nft", "--version"}).status != 0) {
    *why = "iproute2 (ip) or nftables (nft) is not installed";
    return false;
  }
  return true;
}

std::unique_ptr<Topology> Topology::create(std::string* error, bool* unsupported) {
  *unsupported = false;
  std::string why;
  if (!namespaces_available(&why)) {
    *unsupported = true;
    *error = why;
    return nullptr;
  }
  std::unique_ptr<Topology> t(new Topology());
  t->home_fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  const std::string base = std::string(kNsPrefix) + std::to_string(getpid()) + "-";
  t->names_ = {base + "c", base + "r", base + "s"};
  t->links_[0] = {t->names_[0], "c0", {2, 0, 0, 0, 1, 2}, {2, 0, 0, 0, 1, 1}};
  t->links_[1] = {t->names_[2], "s0", {2, 0, 0, 0, 2, 2}, {2, 0, 0, 0, 2, 1}};
  install_signal_cleanup();
  if (!t->build(error)) return nullptr;  // destructor removes what exists
  return t;
}

bool Topology::build(std::string* error) {
  std::vector<std::vector<std::string>> cmds;
  // Register paths before creating, so a signal in the middle still cleans up.
  for (int i = 0; i < kMaxNs; ++i) {
    std::snprintf(g_ns_paths[i], sizeof g_ns_paths[i], "/run/netns/%s", names_[i].c_str());
  }
  g_ns_count = kMaxNs;
  const std::string& c = names_[0];
  const std::string& r = names_[1];
  const std::string& s = names_[2];
  for (const auto& n : names_) cmds.push_back({"ip", "netns", "add", n});
  // Links are created inside the router namespace: nothing ever appears in
  // the host's namespace.
  cmds.push_back({"ip", "-n", r, "link", "add", "r0", "address", mac_text(links_[0].router_mac), "mtu", "9000",
                  "type", "veth", "peer", "name", "c0", "address", mac_text(links_[0].host_mac), "mtu", "9000",
                  "netns", c});
  cmds.push_back({"ip", "-n", r, "link", "add", "r1", "address", mac_text(links_[1].router_mac), "mtu", "9000",
                  "type", "veth", "peer", "name", "s0", "address", mac_text(links_[1].host_mac), "mtu", "9000",
                  "netns", s});
  // End hosts: no addresses (addrgenmode none: no link-local, no DAD, no
  // MLD/RS), and nftables drops everything in and out as a second guard.
  for (const auto* host : {&c, &s}) {
    cmds.push_back({"ip", "netns", "exec", *host, "nft",
                    "add table inet ctkd; "
                    "add chain inet ctkd in { type filter hook input priority 0; policy drop; }; "
                    "add chain inet ctkd out { type filter hook output priority 0; policy drop; }"});
  }
  cmds.push_back({"ip", "-n", c, "link", "set", "c0", "addrgenmode", "none"});
  cmds.push_back({"ip", "-n", s, "link", "set", "s0", "addrgenmode", "none"});
  cmds.push_back({"ip", "-n", c, "link", "set", "c0", "up"});
  cmds.push_back({"ip", "-n", s, "link", "set", "s0", "up"});
  // Router sysctls, inside the router namespace only.
  for (const char* kv : {"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", "net.ipv4.conf.all.rp_filter=0",
                         "net.ipv4.conf.default.rp_filter=0", "net.ipv4.conf.all.send_redirects=0",
                         "net.ipv4.conf.default.send_redirects=0", "net.ipv4.icmp_ratemask=0",
                         "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                         "net.ipv4.conf.all.accept_local=1"}) {
    cmds.push_back({"ip", "netns", "exec", r, "sysctl", "-q", "-w", kv});
  }
  for (const char* ifn : {"r0", "r1"}) {
    cmds.push_back({"ip", "-n", r, "link", "set", ifn, "addrgenmode", "none"});
    cmds.push_back({"ip", "netns", "exec", r, "sysctl", "-q", "-w", std::string("net.ipv4.conf.") + ifn + ".rp_filter=0"});
    cmds.push_back({"ip", "-n", r, "link", "set", ifn, "up"});
  }
  cmds.push_back({"ip", "-n", r, "link", "set", "lo", "up"});
  // Policy routing by input interface: whatever enters from one side leaves on
  // the other, for any destination, via a static next hop whose MAC is the
  // end host's (permanent neighbour, so no ARP/ND).
  for (const char* fam : {"-4", "-6"}) {
    cmds.push_back({"ip", fam, "-n", r, "rule", "add", "iif", "r0", "table", "100", "pref", "100"});
    cmds.push_back({"ip", fam, "-n", r, "rule", "add", "iif", "r1", "table", "101", "pref", "101"});
  }
  cmds.push_back({"ip", "-n", r, "neigh", "add", "198.19.255.1", "lladdr", mac_text(links_[0].host_mac), "dev", "r0",
                  "nud", "permanent"});
  cmds.push_back({"ip", "-n", r, "neigh", "add", "198.19.255.2", "lladdr", mac_text(links_[1].host_mac), "dev", "r1",
                  "nud", "permanent"});
  cmds.push_back({"ip", "-n", r, "-6", "neigh", "add", "fe80::1", "lladdr", mac_text(links_[0].host_mac), "dev", "r0",
                  "nud", "permanent"});
  cmds.push_back({"ip", "-n", r, "-6", "neigh", "add", "fe80::2", "lladdr", mac_text(links_[1].host_mac), "dev", "r1",
                  "nud", "permanent"});
  cmds.push_back({"ip", "-n", r, "route", "add", "default", "via", "198.19.255.2", "dev", "r1", "onlink", "table", "100"});
  cmds.push_back({"ip", "-n", r, "route", "add", "default", "via", "198.19.255.1", "dev", "r0", "onlink", "table", "101"});
  cmds.push_back({"ip", "-n", r, "-6", "route", "add", "default", "via", "fe80::2", "dev", "r1", "table", "100"});
  cmds.push_back({"ip", "-n", r, "-6", "route", "add", "default", "via", "fe80::1", "dev", "r0", "table", "101"});
  for (const auto& cmd : cmds) {
    CommandResult res = run_command(cmd);
    if (res.status != 0) {
      std::string line;
      for (const auto& a : cmd) line += (line.empty() ? "" : " ") + a;
      *error = "topology setup failed: `" + line + "`: " + res.output;
      return false;
    }
  }
  return true;
}

bool Topology::enter(const std::string& ns, std::string* error) {
  std::string path = "/run/netns/" + ns;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
    *error = "setns(" + ns + "): " + std::strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  }
  close(fd);
  in_other_ns_ = true;
  return true;
}

bool Topology::leave(std::string* error) {
  if (!in_other_ns_) return true;
  if (home_fd_ < 0 || setns(home_fd_, CLONE_NEWNET) != 0) {
    *error = std::string("setns(home): ") + std::strerror(errno);
    return false;
  }
  in_other_ns_ = false;
  return true;
}

bool Topology::router_sysctl(const std::string& name, const std::string& value, std::string* error) {
  std::string rel = name;
  for (char& ch : rel) {
    if (ch == '.') ch = '/';
  }
  if (rel.rfind("net/", 0) != 0) rel = "net/netfilter/" + rel;
  if (rel.find("..") != std::string::npos) {
    *error = "bad sysctl name " + name;
    return false;
  }
  CommandResult res = run_command({"ip", "netns", "exec", router_ns(), "sh", "-c",
                                   "printf '%s' \"$1\" > \"/proc/sys/$0\"", rel, value});
  if (res.status != 0) {
    *error = "cannot set " + name + "=" + value + " in the router namespace: " + res.output;
    return false;
  }
  return true;
}

void Topology::destroy() {
  std::string ignored;
  leave(&ignored);
  for (int i = kMaxNs - 1; i >= 0; --i) {
    if (!names_[i].empty()) run_command({"ip", "netns", "del", names_[i]});
  }
  g_ns_count = 0;
  if (home_fd_ >= 0) close(home_fd_);
  home_fd_ = -1;
}

Topology::~Topology() { destroy(); }

int cleanup_leftovers(std::string* log) {
  int removed = 0;
  DIR* d = opendir("/run/netns");
  if (d == nullptr) return 0;
  std::vector<std::string> victims;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind(kNsPrefix, 0) != 0) continue;
    long pid = std::strtol(n.c_str() + std::strlen(kNsPrefix), nullptr, 10);
    if (!pid_alive(pid)) victims.push_back(n);
  }
  closedir(d);
  for (const auto& n : victims) {
    if (run_command({"ip", "netns", "del", n}).status == 0) {
      ++removed;
      *log += "removed namespace " + n + "\n";
    }
  }
  return removed;
}

}  // namespace ctrack::kdiff
