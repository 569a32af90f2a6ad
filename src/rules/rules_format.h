// Text and JSON output for rulesets: the per-packet verdict suffix, the
// per-rule counters as `iptables -L -v -n -x --line-numbers` lists them and
// as `iptables-save -c` dumps them.
#pragma once

#include <string>

#include "rules/rule_eval.h"

namespace ctrack::rules {

// " DROP filter/FORWARD#3 (rules.v4:12) log=\"IN: \"" (with a leading space).
void append_decision_text(std::string& out, const RuleEvaluator& ev, const Decision& d);
// `"verdict": "drop", "rule": {...}|null` (no surrounding braces or commas).
void append_decision_json(std::string& out, const RuleEvaluator& ev, const Decision& d);
// Every present table and chain with its counters (exact numbers, as -x).
void append_rule_listing(std::string& out, const RuleEvaluator& ev);
// iptables-save -c / ip6tables-save -c style dump with the replay's counters.
void append_rule_save(std::string& out, const RuleEvaluator& ev);

}  // namespace ctrack::rules
