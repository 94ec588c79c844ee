// Sanitizer reports of child processes fail the test that started them.
//
// Linked into every test binary of the `asan` preset (tests/CMakeLists.txt).
// The lab tests run the agent and the CLI of the same build dir, so they are
// instrumented too, but their stderr goes to a pipe the test reads, and an
// AddressSanitizer, LeakSanitizer or UBSan report there would be lost (or, for
// the CLI, show only as an exit code the test may even expect). So before any
// test runs, this points the children's reports (ASAN_OPTIONS and
// UBSAN_OPTIONS `log_path`, inherited through the environment) into a
// directory of this test process; the test process keeps reporting to its own
// stderr, as its options were read at startup. After the tests, every report
// found there is printed and fails the run (ctest runs one test per process).
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

class ChildSanitizerReports : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* tmp = getenv("TMPDIR");
    std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                       "/netprobe-sanitizer-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << tmpl << ": child sanitizer reports unchecked";
      return;
    }
    dir_ = tmpl;
    for (const char* var : {"ASAN_OPTIONS", "UBSAN_OPTIONS"}) {
      const char* old = getenv(var);
      std::string value = old != nullptr ? old : "";
      if (!value.empty()) value += ":";
      value += "log_path=" + dir_ + "/report";
      setenv(var, value.c_str(), 1);
    }
  }

  void TearDown() override {
    if (dir_.empty()) return;
    std::vector<std::string> files;
    if (DIR* dir = opendir(dir_.c_str())) {
      while (dirent* entry = readdir(dir)) {
        const std::string name = entry->d_name;
        if (name != "." && name != "..") files.push_back(dir_ + "/" + name);
      }
      closedir(dir);
    }
    for (const std::string& file : files) {
      std::ifstream in(file);
      std::stringstream text;
      text << in.rdbuf();
      // A child (the agent, the CLI, a tool) reported: print it where ctest
      // shows it and fail.
      std::cerr << "==== sanitizer report of a child process (" << file << ") ====\n"
                << text.str() << "==== end of report ====\n";
      ADD_FAILURE() << "a child process had a sanitizer report (printed above): "
                    << file;
      unlink(file.c_str());
    }
    rmdir(dir_.c_str());
  }

 private:
  std::string dir_;
};

[[maybe_unused]] ::testing::Environment* const registered =
    ::testing::AddGlobalTestEnvironment(new ChildSanitizerReports);

}  // namespace
