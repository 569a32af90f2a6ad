#include "io/bpf_match.h"

#include <pcap/pcap.h>

namespace ctrack::io {

struct BpfMatch::Impl {
  bpf_program prog{};
  ~Impl() { pcap_freecode(&prog); }
};

std::unique_ptr<BpfMatch> BpfMatch::compile(const std::string& expression, int linktype,
                                            std::string* error) {
  // A "dead" handle only supplies the link type to the compiler.
  pcap_t* dead = pcap_open_dead(linktype, 262144);
  if (dead == nullptr) {
    if (error) *error = "cannot compile BPF expression '" + expression + "'";
    return nullptr;
  }
  std::unique_ptr<BpfMatch> m(new BpfMatch());
  m->impl_ = std::make_unique<Impl>();
  if (pcap_compile(dead, &m->impl_->prog, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    if (error) *error = "invalid BPF expression '" + expression + "': " + pcap_geterr(dead);
    pcap_close(dead);
    m->impl_.reset();
    return nullptr;
  }
  pcap_close(dead);
  return m;
}

BpfMatch::~BpfMatch() = default;

bool BpfMatch::matches(std::span<const std::uint8_t> frame, std::uint32_t wire_len) const {
  pcap_pkthdr hdr{};
  hdr.caplen = static_cast<bpf_u_int32>(frame.size());
  hdr.len = wire_len < frame.size() ? static_cast<bpf_u_int32>(frame.size()) : wire_len;
  return pcap_offline_filter(&impl_->prog, &hdr, frame.data()) != 0;
}

}  // namespace ctrack::io
