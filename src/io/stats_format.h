// Engine statistics as text: the `conntrack -S` line (linux-core.md §6.6;
// one CPU, since ctrack is one engine) and a second line with ctrack's own
// counters.
#pragma once

#include <cstdint>
#include <string>

#include "ctrack/stats.h"

namespace ctrack::io {

// "cpu=0 found=0 invalid=N insert=0 ... chaintoolong=0\n"
void append_conntrack_stats(std::string& out, const Stats& s);
// `conntrack -S expect`: "cpu=0   \texpect_new=N expect_create=N expect_delete=N \n".
void append_expect_stats(std::string& out, const Stats& s);
// "packets=N created=N expired=N entries=N link_errors=N\n"; link_errors
// counts frames the replay could not hand to the engine (non-IP, cut
// link-layer header), which the engine never saw.
void append_ctrack_stats(std::string& out, const Stats& s, std::uint64_t link_errors);

}  // namespace ctrack::io
