#ifndef NETPROBE_TESTS_TEST_SUPPORT_SUBPROCESS_H_
#define NETPROBE_TESTS_TEST_SUPPORT_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/net/unique_fd.h"

namespace netprobe::testing {

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv to completion with stdout and stderr captured. Kills it and returns
// DEADLINE_EXCEEDED when it takes longer than `timeout`.
absl::StatusOr<RunResult> RunCommand(const std::vector<std::string>& argv,
                                     absl::Duration timeout = absl::Seconds(30));

// A background child with its stdout and stderr captured. The destructor
// SIGKILLs and reaps it if it still runs, so a failing test leaks nothing.
class Process {
 public:
  static absl::StatusOr<Process> Start(const std::vector<std::string>& argv);
  Process(Process&& other) noexcept { *this = std::move(other); }
  Process& operator=(Process&& other) noexcept;
  ~Process();

  pid_t pid() const { return pid_; }
  // Reads output until a line of stderr (stdout) contains `needle`; returns
  // that line.
  absl::StatusOr<std::string> WaitForStderr(const std::string& needle,
                                            absl::Duration timeout) {
    return WaitForLine(err_, needle, timeout);
  }
  absl::StatusOr<std::string> WaitForStdout(const std::string& needle,
                                            absl::Duration timeout) {
    return WaitForLine(out_, needle, timeout);
  }
  // Reads what output is available within `timeout` (a child that logs a lot
  // blocks on a full pipe unless someone reads it).
  void Drain(absl::Duration timeout) { Pump(timeout); }
  // Waits for exit; returns the exit code (-signal when killed).
  absl::StatusOr<int> Wait(absl::Duration timeout);
  void Signal(int sig);
  // Everything read so far.
  const std::string& err() const { return err_; }
  const std::string& out() const { return out_; }

 private:
  Process() = default;
  absl::StatusOr<std::string> WaitForLine(const std::string& buffer,
                                          const std::string& needle,
                                          absl::Duration timeout);
  // Reads what is available within `timeout`. Returns how many pipes had
  // data or closed; -1 when both are closed already.
  int Pump(absl::Duration timeout);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  UniqueFd out_fd_, err_fd_;
  std::string out_, err_;
};

}  // namespace netprobe::testing

#endif  // NETPROBE_TESTS_TEST_SUPPORT_SUBPROCESS_H_
