#ifndef NETPROBE_TESTS_TEST_SUPPORT_PROC_SELF_H_
#define NETPROBE_TESTS_TEST_SUPPORT_PROC_SELF_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/time/time.h"

namespace netprobe::testing {

// Entries of a /proc directory, "." and ".." aside (0 when it cannot be read).
int CountEntries(const char* dir);
// This process's open descriptors.
inline int OpenFds() { return CountEntries("/proc/self/fd"); }

// VmRSS of `pid` in KiB, from /proc/PID/status; -1 when it cannot be read.
int64_t VmRssKiB(pid_t pid);

// This process's threads by name (/proc/self/task/*/comm).
std::map<std::string, int> ThreadsByName();
// gRPC's process-wide pools grow under load up to their caps and stay:
// "default-executo(r)" (2 per core) and "grpc_global_tim(er)" threads (one
// more appears when a timer waiter is busy, even with no RPC left).
bool IsGrpcPool(const std::string& comm);
// Threads outside gRPC's elastic pools: the agent's own (loop, resolver,
// gRPC's server and event engine), which must return to their baseline.
int OwnThreads();
// Threads of gRPC's elastic pools, and "name xN; " for every name.
int PoolThreads();
std::string ThreadNames();

// Polls `condition` every 10 ms until it holds (true) or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout);

}  // namespace netprobe::testing

#endif  // NETPROBE_TESTS_TEST_SUPPORT_PROC_SELF_H_
