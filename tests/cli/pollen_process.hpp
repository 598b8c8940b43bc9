// SPDX-License-Identifier: MIT
// Running the `pollen` binary from end-to-end tests: as a child process in a working directory,
// stdin from a file, stdout and stderr into files there (no pipes, so no deadlock however much
// it prints), optionally inside a network namespace; waiting for it with a time limit. Shared by
// cli_test and run_test; POLLEN_BINARY is the binary's path.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace pollen::test {

struct Output {
  int exit_code = -1;  ///< 128 + the signal when a signal ended it
  std::string out;
  std::string err;
};

std::string read_whole(const std::filesystem::path& path);
void write_whole(const std::filesystem::path& path, const std::string& text);

/// Starts `pollen args...` in `dir` with stdin from `stdin_path` (relative to `dir`) and
/// stdout and stderr going to `.stdout` and `.stderr` there; with `netns_fd`, inside that
/// network namespace.
pid_t start_pollen(const std::filesystem::path& dir, const std::vector<std::string>& args,
                   const std::string& stdin_path = "/dev/null", int netns_fd = -1);

/// Waits for `pid` up to `limit`, killing it (a test failure) when it takes longer, and
/// collects what it wrote.
Output finish_pollen(const std::filesystem::path& dir, pid_t pid,
                     std::chrono::seconds limit = std::chrono::seconds(60));

}  // namespace pollen::test
