#include "io/stats_format.h"

#include <fmt/format.h>

#include <iterator>

namespace ctrack::io {

void append_conntrack_stats(std::string& out, const Stats& s) {
  fmt::format_to(std::back_inserter(out),
                 "cpu=0 found={} invalid={} insert={} insert_failed={} drop={} early_drop={} "
                 "error={} search_restart={} clash_resolve={} chaintoolong={}\n",
                 s.found, s.invalid, s.insert, s.insert_failed, s.drop, s.early_drop, s.error,
                 s.search_restart, s.clash_resolve, s.chaintoolong);
}

void append_expect_stats(std::string& out, const Stats& s) {
  fmt::format_to(std::back_inserter(out), "cpu={:<4}\texpect_new={} expect_create={} expect_delete={} \n", 0,
                 s.expect_new, s.expect_create, s.expect_delete);
}

void append_ctrack_stats(std::string& out, const Stats& s, std::uint64_t link_errors) {
  fmt::format_to(std::back_inserter(out),
                 "packets={} created={} expired={} entries={} link_errors={}\n", s.packets,
                 s.created, s.expired, s.entries, link_errors);
}

}  // namespace ctrack::io
