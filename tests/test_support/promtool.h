#ifndef NETPROBE_TESTS_TEST_SUPPORT_PROMTOOL_H_
#define NETPROBE_TESTS_TEST_SUPPORT_PROMTOOL_H_

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "tests/test_support/status_matchers.h"
#include "tests/test_support/subprocess.h"

// NETPROBE_PROMTOOL: promtool's path, found by CMake (tests/unit).
#ifndef NETPROBE_PROMTOOL
#error "NETPROBE_PROMTOOL must name promtool (tests/unit/CMakeLists.txt defines it)"
#endif

namespace netprobe::testing {

// Whether promtool (Debian package prometheus) is there to run.
inline bool HavePromtool() { return access(NETPROBE_PROMTOOL, X_OK) == 0; }

// Runs `promtool check metrics` on `text` (the exposition): exit 0 with no
// output when it parses and lints clean.
inline RunResult PromtoolCheckMetrics(const std::string& text) {
  std::string path = ::testing::TempDir() + "/metrics_promtool_XXXXXX";
  int fd = mkstemp(path.data());
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  absl::StatusOr<RunResult> run = RunCommand(
      {"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", NETPROBE_PROMTOOL, path},
      absl::Seconds(60));
  unlink(path.c_str());
  EXPECT_THAT(run, IsOk());
  return run.ok() ? *run : RunResult{};
}

}  // namespace netprobe::testing

#endif  // NETPROBE_TESTS_TEST_SUPPORT_PROMTOOL_H_
