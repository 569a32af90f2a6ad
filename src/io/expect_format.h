// The expectation table as text (linux-core.md §7.2):
//   Proc      /proc/net/nf_conntrack_expect
//   Conntrack `conntrack -L expect` (conntrack-tools 1.4.7)
//   Json      one JSON object per expectation (ctrack's own, see README)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ctrack/engine.h"
#include "ctrack/expectation.h"

namespace ctrack::io {

enum class ExpectFormat { Proc, Conntrack, Json };

std::optional<ExpectFormat> parse_expect_format(std::string_view name);

// Appends one line (with its '\n'); `timeout` is the seconds left, rounded
// down (Engine::timeout_left).
void append_expectation(std::string& out, ExpectFormat format, const Expectation& e,
                        std::int64_t timeout);

// The line `conntrack -L expect` writes on stderr after the list.
std::string conntrack_expect_summary_line(std::size_t count);

}  // namespace ctrack::io
