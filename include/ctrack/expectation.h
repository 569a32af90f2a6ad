// Expectations and helpers, as seen from outside the engine.
//
// A helper (FTP, IRC, TFTP, Amanda) watches the payload of a connection it is
// attached to and registers expectations: "a connection with this tuple is
// coming". The first connection matching one is RELATED to its master
// (linux-core.md §7). Engine::expectations() lists the live ones.
#pragma once

#include <cstdint>
#include <string_view>

#include "ctrack/tuple.h"
#include "ctrack/types.h"

namespace ctrack {

// Expectation flags (NF_CT_EXPECT_*).
enum ExpectFlag : std::uint8_t {
  kExpectPermanent = 0x1,  // not consumed by a match; may match many times
  kExpectInactive = 0x2,   // ignored by matching until activated
  kExpectUserspace = 0x4,  // created from user space (ctnetlink)
};

// One live expectation (struct nf_conntrack_expect), copied out of the
// engine's table.
struct Expectation {
  std::uint32_t id = 0;  // creation order, unique while alive
  // The expected connection's ORIGINAL tuple. Wildcarded fields are zero.
  Tuple tuple{};
  // Mask of the source part (the destination always matches exactly):
  // all-ones address / 0xffff port = must match, zero = any.
  Addr mask_src{};
  std::uint16_t mask_sport = 0;
  std::uint32_t master_id = 0;    // Conn::id of the master
  Tuple master{};                 // the master's original tuple
  std::uint8_t helper = 0;        // the master's helper (the one that created it)
  std::uint8_t child_helper = 0;  // helper given to the child (0 = none)
  std::uint8_t cls = 0;           // expectation class
  std::uint8_t flags = 0;         // ExpectFlag bits
  Timestamp expires = 0;          // absolute, engine time

  bool permanent() const { return (flags & kExpectPermanent) != 0; }
  bool inactive() const { return (flags & kExpectInactive) != 0; }
  bool userspace() const { return (flags & kExpectUserspace) != 0; }
  bool src_any() const { return mask_src == Addr{}; }
  bool sport_any() const { return mask_sport == 0; }
};

// Helper id by kernel name ("ftp", "irc", "tftp", "amanda"); 0 = unknown.
// The id goes into CtTemplate::helper or Config::helpers.
std::uint8_t helper_id(std::string_view name);
// Kernel name of a helper id, or nullptr for 0 / unknown ids.
const char* helper_name(std::uint8_t id);
// IP protocol and default port of a helper (0 when unknown).
std::uint8_t helper_proto(std::uint8_t id);
std::uint16_t helper_default_port(std::uint8_t id);

}  // namespace ctrack
