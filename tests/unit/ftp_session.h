// A scripted FTP control connection for engine-level helper tests: the
// topology of linux-core.md §13 (client A, server B, tracking router R), a
// three-way handshake, then text lines with consistent sequence numbers.
#pragma once

#include <cstdint>
#include <string>

#include "l4_engine_fixture.h"

namespace ctrack::test {

inline Config ftp_config(Profile p = Profile::Linux, bool attach = true) {
  Config c = test_config(p);
  if (attach) c.helpers.push_back(HelperAttachment{"ftp", kProtoTCP, 21});
  return c;
}

class FtpSession {
 public:
  FtpSession(L4Engine& e, Endpoint client, Endpoint server) : e_(e), c_(client), s_(server) {}

  // SYN, SYN/ACK, ACK at t, t+1, t+2 ms.
  void handshake(std::int64_t t) {
    EXPECT_EQ(send_c(t, SYN, "").state, CtState::New);
    ++cseq_;
    EXPECT_EQ(send_s(t + 1, SYN | ACK, "").state, CtState::Established);
    ++sseq_;
    EXPECT_EQ(send_c(t + 2, ACK, "").state, CtState::Established);
  }
  // One data segment; the sequence advances by its length.
  Result client(std::int64_t t, const std::string& text) {
    Result r = send_c(t, PSH | ACK, text);
    if (!r.dropped) cseq_ += static_cast<std::uint32_t>(text.size());
    return r;
  }
  Result server(std::int64_t t, const std::string& text) {
    Result r = send_s(t, PSH | ACK, text);
    if (!r.dropped) sseq_ += static_cast<std::uint32_t>(text.size());
    return r;
  }
  // The usual greeting exchange, after which both directions are "after a
  // newline" and commands are parsed.
  void login(std::int64_t t) {
    EXPECT_FALSE(server(t, "220 hello\r\n").dropped);
    EXPECT_FALSE(client(t + 1, "USER ftp\r\n").dropped);
    EXPECT_FALSE(server(t + 2, "331 pw\r\n").dropped);
  }
  const Conn* control() const {
    return e_.engine.find(make_tuple(c_.addr, s_.addr, c_.v6, kProtoTCP, c_.port, s_.port));
  }
  std::uint32_t cseq() const { return cseq_; }

 private:
  Result send_c(std::int64_t t, std::uint8_t flags, const std::string& payload) {
    TcpSpec s;
    s.flags = flags;
    s.seq = cseq_;
    s.ack = (flags & ACK) ? sseq_ : 0;
    s.payload = payload;
    return e_.send(t, tcp(c_, s_, s));
  }
  Result send_s(std::int64_t t, std::uint8_t flags, const std::string& payload) {
    TcpSpec s;
    s.flags = flags;
    s.seq = sseq_;
    s.ack = cseq_;
    s.payload = payload;
    return e_.send(t, tcp(s_, c_, s));
  }

  L4Engine& e_;
  Endpoint c_, s_;
  std::uint32_t cseq_ = 1000;
  std::uint32_t sseq_ = 5000;
};

// A data connection's SYN from `from` to `to`.
inline Bytes syn(const Endpoint& from, const Endpoint& to, std::uint32_t seq = 7000) {
  TcpSpec s;
  s.flags = SYN;
  s.seq = seq;
  return tcp(from, to, s);
}

}  // namespace ctrack::test
