// The `ctrack` command: lists the subcommands and dispatches to the chosen
// one. Usage errors exit with 1, input errors with 2 (set by the commands).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"

#ifndef CTRACK_VERSION
#define CTRACK_VERSION "0.1.0"
#endif

int main(int argc, char** argv) {
  CLI::App app{
      "ctrack: the Linux kernel's netfilter connection tracking (conntrack), in user space.\n"
      "Replays captures and shows, packet by packet, what conntrack would decide.",
      "ctrack"};
  app.set_version_flag("--version", "ctrack " CTRACK_VERSION);
  app.require_subcommand(1);

  const ctrack::cli::Command commands[] = {
      ctrack::cli::register_replay_command(app),
      ctrack::cli::register_kernel_diff_command(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with status 0; every real parse
    // error is a usage error: status 1, whatever CLI11's own code.
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 1;
  }
  for (const auto& cmd : commands) {
    if (cmd.app != nullptr && cmd.app->parsed()) return cmd.run();
  }
  return 1;
}
