#ifndef NETPROBE_TESTS_TEST_SUPPORT_PROC_SELF_H_
#define NETPROBE_TESTS_TEST_SUPPORT_PROC_SELF_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>

#include "absl/time/time.h"

namespace netprobe::testing {

// Entries of a /proc directory, "." and ".." aside (0 when it cannot be read).
int CountEntries(const char* dir);
// This process's open descriptors.
inline int OpenFds() { return CountEntries("/proc/self/fd"); }

// VmRSS of `pid` in KiB, from /proc/PID/status; -1 when it cannot be read.
int64_t VmRssKiB(pid_t pid);

// Polls `condition` every 10 ms until it holds (true) or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout);

}  // namespace netprobe::testing

#endif  // NETPROBE_TESTS_TEST_SUPPORT_PROC_SELF_H_
