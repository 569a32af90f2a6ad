#include "kdiff/kernel_observer.h"

#include <arpa/inet.h>
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "kdiff/netns.h"

namespace ctrack::kdiff {
namespace {

// Rule comments name the counters; the order of kNames is CtState order,
// then Direction order.
constexpr const char* kStateNames[5] = {"new", "established", "related", "invalid", "untracked"};
constexpr const char* kDirNames[2] = {"original", "reply"};

// The ruleset. Priority -150 runs after conntrack (-200) and before
// anything that could drop. Only unicast-to-us frames are counted, so any
// stray multicast (MLD, RS) can never be mistaken for an injected packet.
// The output chain drops everything the router itself would send (ICMP
// errors, redirects): it must be a silent forwarder.
//
// Priority -450 counts every frame before defragmentation (-400): a fragment
// counted there but not at -150 is being held for reassembly. Priority 500 in
// forward runs after every filter chain (iptables' at 0): a packet counted
// there was accepted by the ruleset under test.
std::string router_ruleset(const RouterSetup& setup) {
  std::string r =
      "add table inet ctkd; "
      "add chain inet ctkd obs; "
      "add chain inet ctkd predefrag { type filter hook prerouting priority -450; policy accept; "
      "}; "
      "add chain inet ctkd pre { type filter hook prerouting priority -150; policy accept; }; "
      "add chain inet ctkd passed { type filter hook forward priority 500; policy accept; }; "
      "add chain inet ctkd out { type filter hook output priority 0; policy drop; }; "
      "add rule inet ctkd predefrag meta pkttype host counter comment \"raw\"; "
      "add rule inet ctkd passed counter comment \"fwd\"; "
      "add rule inet ctkd pre meta pkttype host jump obs; "
      "add rule inet ctkd obs counter comment \"all\"; ";
  for (const char* s : kStateNames) {
    r += std::string("add rule inet ctkd obs ct state ") + s + " counter comment \"" + s + "\"; ";
  }
  for (const char* d : kDirNames) {
    r += std::string("add rule inet ctkd obs ct direction ") + d + " counter comment \"" + d +
         "\"; ";
  }
  if (!setup.notrack_nft.empty()) {
    r +=
        "add chain inet ctkd notrk { type filter hook prerouting priority -300; policy accept; }; ";
    r += "add rule inet ctkd notrk " + setup.notrack_nft + " notrack; ";
  }
  // Helpers are attached on the first packet, after conntrack created the
  // (still unconfirmed) entry; later packets leave them alone.
  for (std::size_t i = 0; i < setup.helpers.size(); ++i) {
    const auto& h = setup.helpers[i];
    r += "add ct helper inet ctkd h" + std::to_string(i) + " { type \"" + h.name + "\" protocol " +
         h.proto + "; l3proto inet; }; ";
    r += "add rule inet ctkd pre " + h.proto + " dport " + std::to_string(h.port) +
         " ct helper set \"h" + std::to_string(i) + "\"; ";
  }
  return r;
}

bool parse_counters(const std::string& text, CtCounters& out) {
  std::istringstream in(text);
  std::string line;
  int found = 0;
  while (std::getline(in, line)) {
    auto p = line.find("packets ");
    auto c = line.find("comment \"");
    if (p == std::string::npos || c == std::string::npos) continue;
    std::uint64_t n = std::strtoull(line.c_str() + p + 8, nullptr, 10);
    std::string name = line.substr(c + 9);
    name = name.substr(0, name.find('"'));
    if (name == "all") {
      out.all = n;
      ++found;
    }
    if (name == "raw") out.raw = n, ++found;
    if (name == "fwd") out.fwd = n, ++found;
    for (int i = 0; i < 5; ++i) {
      if (name == kStateNames[i]) out.state[i] = n, ++found;
    }
    for (int i = 0; i < 2; ++i) {
      if (name == kDirNames[i]) out.dir[i] = n, ++found;
    }
  }
  return found == 10;
}

bool parse_addr(const std::string& text, bool v6, Addr& out) {
  return inet_pton(v6 ? AF_INET6 : AF_INET, text.c_str(), out.b.data()) == 1;
}

}  // namespace

// libnftables is used in-process (a fork+exec of `nft` per poll would cost
// milliseconds per packet). There is no development header on the build
// machines, so the handful of stable entry points are looked up at run time;
// without the library we fall back to running `nft`.
struct KernelObserver::Nft {
  void* lib = nullptr;
  void* ctx = nullptr;
  void* (*ctx_new)(std::uint32_t) = nullptr;
  void (*ctx_free)(void*) = nullptr;
  int (*buffer_output)(void*) = nullptr;
  int (*buffer_error)(void*) = nullptr;
  const char* (*get_output)(void*) = nullptr;
  int (*run)(void*, const char*) = nullptr;

  bool load() {
    lib = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) return false;
    ctx_new = reinterpret_cast<void* (*)(std::uint32_t)>(dlsym(lib, "nft_ctx_new"));
    ctx_free = reinterpret_cast<void (*)(void*)>(dlsym(lib, "nft_ctx_free"));
    buffer_output = reinterpret_cast<int (*)(void*)>(dlsym(lib, "nft_ctx_buffer_output"));
    buffer_error = reinterpret_cast<int (*)(void*)>(dlsym(lib, "nft_ctx_buffer_error"));
    get_output = reinterpret_cast<const char* (*)(void*)>(dlsym(lib, "nft_ctx_get_output_buffer"));
    run = reinterpret_cast<int (*)(void*, const char*)>(dlsym(lib, "nft_run_cmd_from_buffer"));
    return ctx_new && ctx_free && buffer_output && buffer_error && get_output && run;
  }
  ~Nft() {
    if (ctx != nullptr) ctx_free(ctx);
    if (lib != nullptr) dlclose(lib);
  }
};

std::unique_ptr<KernelObserver> KernelObserver::create(const Topology& topo,
                                                       const RouterSetup& setup,
                                                       std::string* error) {
  std::unique_ptr<KernelObserver> o(new KernelObserver());
  o->router_ns_ = topo.router_ns();
  CommandResult res =
      run_command({"ip", "netns", "exec", o->router_ns_, "nft", router_ruleset(setup)});
  if (res.status != 0) {
    *error = "cannot install the router's nftables rules: " + res.output;
    return nullptr;
  }
  // The ruleset under test, restored inside the router namespace only.
  const std::pair<const std::string*, const char*> rule_files[] = {
      {&setup.rules_v4, "iptables-restore"}, {&setup.rules_v6, "ip6tables-restore"}};
  for (const auto& [file, tool] : rule_files) {
    if (file->empty()) continue;
    res = run_command({"ip", "netns", "exec", o->router_ns_, tool, *file});
    if (res.status != 0) {
      *error = std::string(tool) + " " + *file + " failed in the router namespace: " + res.output;
      return nullptr;
    }
  }
  o->nft_ = std::make_unique<Nft>();
  if (!o->nft_->load()) o->nft_.reset();
  return o;
}

KernelObserver::~KernelObserver() = default;

bool KernelObserver::read_counters(CtCounters& out, std::string* error) {
  static const char* kCmd = "list table inet ctkd";
  std::string text;
  if (nft_) {
    // Created lazily: its netlink socket must be opened inside the router.
    if (nft_->ctx == nullptr) {
      nft_->ctx = nft_->ctx_new(0);
      if (nft_->ctx == nullptr) {
        *error = "nft_ctx_new failed";
        return false;
      }
      nft_->buffer_output(nft_->ctx);
      nft_->buffer_error(nft_->ctx);
    }
    if (nft_->run(nft_->ctx, kCmd) != 0) {
      *error = "nft list failed";
      return false;
    }
    text = nft_->get_output(nft_->ctx);
  } else {
    CommandResult res = run_command({"nft", kCmd});  // we are in the router ns
    if (res.status != 0) {
      *error = "nft list failed: " + res.output;
      return false;
    }
    text = res.output;
  }
  if (!parse_counters(text, out)) {
    *error = "unexpected nft output: " + text;
    return false;
  }
  return true;
}

bool KernelObserver::read_table(std::vector<KernelEntry>& out, std::string* error) {
  out.clear();
  std::ifstream in("/proc/thread-self/net/nf_conntrack");
  if (!in) {
    *error = "cannot read /proc/net/nf_conntrack in the router namespace";
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (auto e = parse_proc_line(line)) out.push_back(std::move(*e));
  }
  return true;
}

bool KernelObserver::read_expectations(std::vector<KernelExpect>& out, std::string* error) {
  out.clear();
  std::ifstream in("/proc/thread-self/net/nf_conntrack_expect");
  if (!in) {
    *error = "cannot read /proc/net/nf_conntrack_expect in the router namespace";
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (auto e = parse_expect_line(line)) out.push_back(std::move(*e));
  }
  return true;
}

// `299 l3proto = 2 proto=6 src=A dst=B sport=0 dport=40001 [FLAGS] [helper]`
std::optional<KernelExpect> parse_expect_line(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> tok;
  for (std::string t; in >> t;) tok.push_back(t);
  if (tok.size() < 8 || tok[1] != "l3proto" || tok[2] != "=") return std::nullopt;
  KernelExpect e;
  e.line = line;
  e.timeout = tok[0] == "-" ? -1 : std::atoll(tok[0].c_str());
  const bool v6 = tok[3] == "10";
  e.tuple.family = v6 ? kFamilyIPv6 : kFamilyIPv4;
  int have = 0;
  for (std::size_t i = 4; i < tok.size(); ++i) {
    const std::string& t = tok[i];
    auto eq = t.find('=');
    if (eq == std::string::npos) {
      if (t == "PERMANENT" || t.find("INACTIVE") != std::string::npos ||
          t.find("USERSPACE") != std::string::npos || t.find(',') != std::string::npos) {
        e.flags = t;
      } else {
        e.helper = t;
      }
      continue;
    }
    const std::string k = t.substr(0, eq), v = t.substr(eq + 1);
    if (k == "proto") {
      e.tuple.proto = static_cast<std::uint8_t>(std::atoi(v.c_str()));
    } else if (k == "src") {
      if (!parse_addr(v, v6, e.tuple.src)) return std::nullopt;
      ++have;
    } else if (k == "dst") {
      if (!parse_addr(v, v6, e.tuple.dst)) return std::nullopt;
      ++have;
    } else if (k == "sport" || k == "id") {
      e.tuple.src_id = static_cast<std::uint16_t>(std::atoi(v.c_str()));
    } else if (k == "dport") {
      e.tuple.dst_id = static_cast<std::uint16_t>(std::atoi(v.c_str()));
    } else if (k == "type") {
      e.tuple.dst_id =
          static_cast<std::uint16_t>((std::atoi(v.c_str()) << 8) | (e.tuple.dst_id & 0xff));
    } else if (k == "code") {
      e.tuple.dst_id =
          static_cast<std::uint16_t>((e.tuple.dst_id & 0xff00) | (std::atoi(v.c_str()) & 0xff));
    }
  }
  if (have != 2) return std::nullopt;
  return e;
}

std::optional<KernelEntry> parse_proc_line(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> tok;
  for (std::string t; in >> t;) tok.push_back(t);
  if (tok.size() < 6) return std::nullopt;
  KernelEntry e;
  e.line = line;
  const bool v6 = tok[0] == "ipv6";
  const auto proto = static_cast<std::uint8_t>(std::atoi(tok[3].c_str()));
  e.timeout = std::atoll(tok[4].c_str());
  std::size_t i = 5;
  if (tok[i].find('=') == std::string::npos && tok[i][0] != '[') e.state = tok[i++];
  Tuple* cur = nullptr;
  int tuples = 0;
  for (; i < tok.size(); ++i) {
    const std::string& t = tok[i];
    if (t == "[UNREPLIED]") {
      e.unreplied = true;
      continue;
    }
    if (t == "[ASSURED]") {
      e.assured = true;
      continue;
    }
    auto eq = t.find('=');
    if (eq == std::string::npos) continue;
    std::string k = t.substr(0, eq), v = t.substr(eq + 1);
    if (k == "src") {
      if (tuples == 2) break;
      cur = tuples++ == 0 ? &e.orig : &e.reply;
      cur->family = v6 ? kFamilyIPv6 : kFamilyIPv4;
      cur->proto = proto;
      if (!parse_addr(v, v6, cur->src)) return std::nullopt;
    } else if (k == "zone") {
      // After both tuples; the zone is part of both keys (no directional zones).
      e.orig.zone = e.reply.zone = static_cast<std::uint16_t>(std::atoi(v.c_str()));
    } else if (cur == nullptr) {
      continue;
    } else if (k == "dst") {
      if (!parse_addr(v, v6, cur->dst)) return std::nullopt;
    } else if (k == "sport" || k == "id") {
      cur->src_id = static_cast<std::uint16_t>(std::atoi(v.c_str()));
    } else if (k == "dport") {
      cur->dst_id = static_cast<std::uint16_t>(std::atoi(v.c_str()));
    } else if (k == "type") {
      cur->dst_id = static_cast<std::uint16_t>((std::atoi(v.c_str()) << 8) | (cur->dst_id & 0xff));
    } else if (k == "code") {
      cur->dst_id =
          static_cast<std::uint16_t>((cur->dst_id & 0xff00) | (std::atoi(v.c_str()) & 0xff));
    }
  }
  if (tuples != 2) return std::nullopt;
  return e;
}

KernelVerdict verdict_from(const CtCounters& before, const CtCounters& after) {
  KernelVerdict v;
  v.seen = after.all > before.all;
  for (int i = 0; i < 5; ++i) {
    if (after.state[i] > before.state[i]) v.state = static_cast<CtState>(i);
  }
  for (int i = 0; i < 2; ++i) {
    if (after.dir[i] > before.dir[i]) v.direction = static_cast<Direction>(i);
  }
  return v;
}

}  // namespace ctrack::kdiff
