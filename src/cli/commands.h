// Subcommands of the `ctrack` command. Each lives in its own file and adds
// itself to the CLI11 app; main.cc only lists them.
#pragma once

#include <CLI/CLI.hpp>

namespace ctrack::cli {

// Each returns the subcommand it registered; `run` is invoked by main after
// parsing when that subcommand was chosen, and returns the exit status.
struct Command {
  CLI::App* app = nullptr;
  int (*run)() = nullptr;
};

Command register_replay_command(CLI::App& app);
Command register_kernel_diff_command(CLI::App& app);

}  // namespace ctrack::cli
