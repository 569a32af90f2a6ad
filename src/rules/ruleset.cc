// Names of the ruleset's tables, chains and policies.
#include "rules/ruleset.h"

namespace ctrack::rules {

const char* table_name(Table t) { return t == Table::Raw ? "raw" : "filter"; }

const char* hook_name(Hook h) {
  switch (h) {
    case Hook::Prerouting:
      return "PREROUTING";
    case Hook::Input:
      return "INPUT";
    case Hook::Forward:
      return "FORWARD";
    case Hook::Output:
      return "OUTPUT";
    case Hook::Postrouting:
      return "POSTROUTING";
  }
  return "?";
}

const char* policy_name(Policy p) {
  switch (p) {
    case Policy::Accept:
      return "ACCEPT";
    case Policy::Drop:
      return "DROP";
    case Policy::None:
      return "-";
  }
  return "?";
}

bool table_has_hook(Table t, Hook h) {
  if (t == Table::Raw) return h == Hook::Prerouting || h == Hook::Output;
  return h == Hook::Input || h == Hook::Forward || h == Hook::Output;
}

}  // namespace ctrack::rules
