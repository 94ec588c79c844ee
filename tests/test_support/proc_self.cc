#include "tests/test_support/proc_self.h"

#include <dirent.h>
#include <poll.h>

#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/net/monotonic_clock.h"

namespace netprobe::testing {

std::map<std::string, int> ThreadsByName() {
  std::map<std::string, int> names;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream comm(absl::StrCat("/proc/self/task/", e->d_name, "/comm"));
      std::string name;
      std::getline(comm, name);
      ++names[name];
    }
    closedir(d);
  }
  return names;
}

bool IsGrpcPool(const std::string& comm) {
  return absl::StartsWith(comm, "default-executo") ||
         absl::StartsWith(comm, "grpc_global_tim");
}

int OwnThreads() {
  int n = 0;
  for (const auto& [name, count] : ThreadsByName()) n += IsGrpcPool(name) ? 0 : count;
  return n;
}

int PoolThreads() {
  int n = 0;
  for (const auto& [name, count] : ThreadsByName()) n += IsGrpcPool(name) ? count : 0;
  return n;
}

std::string ThreadNames() {
  std::string out;
  for (const auto& [name, n] : ThreadsByName())
    absl::StrAppend(&out, name, " x", n, "; ");
  return out;
}

int CountEntries(const char* dir) {
  int n = 0;
  if (DIR* d = opendir(dir)) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

int64_t VmRssKiB(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "VmRSS:")) continue;
    rest = absl::StripAsciiWhitespace(rest);
    absl::ConsumeSuffix(&rest, "kB");
    int64_t kib = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &kib)) return kib;
  }
  return -1;
}

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Duration deadline = MonotonicNow() + timeout;
  while (!condition()) {
    if (MonotonicNow() > deadline) return false;
    poll(nullptr, 0, 10);
  }
  return true;
}

}  // namespace netprobe::testing
