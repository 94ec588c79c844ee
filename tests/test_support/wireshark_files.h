#ifndef NETPROBE_TESTS_TEST_SUPPORT_WIRESHARK_FILES_H_
#define NETPROBE_TESTS_TEST_SUPPORT_WIRESHARK_FILES_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/test_support/status_matchers.h"
#include "tests/test_support/subprocess.h"

namespace netprobe::testing {

// A fixture for tests that write capture files and read them back with
// Wireshark's own tools: tshark and capinfos must be there (install-deps
// installs them; their absence fails, never skips), and each test gets a
// fresh directory under $TMPDIR (or /tmp), removed afterwards.
class WiresharkFilesTest : public ::testing::Test {
 protected:
  static constexpr char kTshark[] = "/usr/bin/tshark";
  static constexpr char kCapinfos[] = "/usr/bin/capinfos";

  void SetUp() override {
    for (const char* tool : {kTshark, kCapinfos}) {
      if (access(tool, X_OK) != 0) {
        FAIL() << tool << " is missing (scripts/install-deps.sh installs tshark)";
      }
    }
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/netprobe-files-XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    dir_ = pattern;
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // What `argv` printed on stdout; a failure to run or a non-zero exit fails
  // the test.
  std::string Run(const std::vector<std::string>& argv) {
    auto result = RunCommand(argv);
    EXPECT_THAT(result, IsOk());
    if (!result.ok()) return "";
    EXPECT_EQ(result->exit_code, 0) << result->err;
    return result->out;
  }
  std::vector<std::string> Lines(const std::vector<std::string>& argv) {
    return absl::StrSplit(Run(argv), '\n', absl::SkipEmpty());
  }
  // `tshark -r file -T fields -e F...`, a line per packet.
  std::vector<std::string> TsharkFields(const std::string& file,
                                        const std::vector<std::string>& fields) {
    std::vector<std::string> argv = {kTshark, "-r", file, "-T", "fields"};
    for (const std::string& f : fields) {
      argv.push_back("-e");
      argv.push_back(f);
    }
    return Lines(argv);
  }

  std::string dir_;
};

}  // namespace netprobe::testing

#endif  // NETPROBE_TESTS_TEST_SUPPORT_WIRESHARK_FILES_H_
