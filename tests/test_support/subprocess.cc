#include "tests/test_support/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "agent/net/monotonic_clock.h"
#include "common/posix_error.h"

extern char** environ;

namespace netprobe::testing {

absl::StatusOr<Process> Process::Start(const std::vector<std::string>& argv) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return PosixError("pipe2", errno);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return PosixError("pipe2", errno);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  Process p;
  const int rc = posix_spawnp(&p.pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  p.out_fd_.reset(out_pipe[0]);
  p.err_fd_.reset(err_pipe[0]);
  if (rc != 0) {
    p.pid_ = -1;
    return PosixError(absl::StrCat("posix_spawnp ", argv[0]), rc);
  }
  return p;
}

Process& Process::operator=(Process&& other) noexcept {
  pid_ = std::exchange(other.pid_, -1);
  reaped_ = other.reaped_;
  status_ = other.status_;
  out_fd_ = std::move(other.out_fd_);
  err_fd_ = std::move(other.err_fd_);
  out_ = std::move(other.out_);
  err_ = std::move(other.err_);
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
}

void Process::Signal(int sig) {
  if (pid_ > 0 && !reaped_) kill(pid_, sig);
}

int Process::Pump(absl::Duration timeout) {
  pollfd fds[2];
  int n = 0;
  UniqueFd* owners[2];
  for (UniqueFd* fd : {&out_fd_, &err_fd_}) {
    if (!fd->valid()) continue;
    fds[n] = {fd->get(), POLLIN, 0};
    owners[n++] = fd;
  }
  if (n == 0) return -1;
  const int ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  const int ready = poll(fds, n, ms < 0 ? 0 : ms);
  if (ready <= 0) return 0;
  for (int i = 0; i < n; ++i) {
    if (fds[i].revents == 0) continue;
    char buf[4096];
    ssize_t got = read(fds[i].fd, buf, sizeof(buf));
    if (got <= 0) {
      owners[i]->reset();
      continue;
    }
    (owners[i] == &out_fd_ ? out_ : err_).append(buf, got);
  }
  return ready;
}

absl::StatusOr<std::string> Process::WaitForLine(const std::string& buffer,
                                                 const std::string& needle,
                                                 absl::Duration timeout) {
  const absl::Duration deadline = MonotonicNow() + timeout;
  size_t from = 0;  // where the needle may start, given what was searched
  while (true) {
    const size_t pos = buffer.find(needle, from);
    if (pos != std::string::npos) {
      size_t begin = buffer.rfind('\n', pos);
      begin = begin == std::string::npos ? 0 : begin + 1;
      const size_t end = buffer.find('\n', pos);
      if (end != std::string::npos) return buffer.substr(begin, end - begin);
      from = pos;  // Found, but its line is not complete yet.
    } else if (buffer.size() >= needle.size()) {
      from = buffer.size() - needle.size() + 1;
    }
    const absl::Duration left = deadline - MonotonicNow();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("no '", needle, "' in time; output so far:\n", buffer));
    }
    if (Pump(left) < 0) {
      return absl::FailedPreconditionError(absl::StrCat("process ended without '", needle,
                                                        "'; output:\n", buffer,
                                                        "\nstderr:\n", err()));
    }
  }
}

absl::StatusOr<int> Process::Wait(absl::Duration timeout) {
  const absl::Duration deadline = MonotonicNow() + timeout;
  while (!reaped_) {
    const pid_t r = waitpid(pid_, &status_, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      break;
    }
    const absl::Duration left = deadline - MonotonicNow();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat("pid ", pid_, " still running"));
    }
    // Reading the pipes both drains output and paces this loop (poll timeout).
    if (Pump(std::min(left, absl::Milliseconds(20))) < 0) {
      poll(nullptr, 0, 5);  // Pipes closed: the child is about to be reapable.
    }
  }
  // Drain what the child wrote before exiting; stop at the first quiet poll,
  // since a grandchild may hold the pipes open.
  for (int i = 0; i < 10000 && Pump(absl::Milliseconds(10)) > 0; ++i) {
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return -WTERMSIG(status_);
  return -1;
}

absl::StatusOr<RunResult> RunCommand(const std::vector<std::string>& argv,
                                     absl::Duration timeout) {
  auto process = Process::Start(argv);
  if (!process.ok()) return process.status();
  auto code = process->Wait(timeout);
  if (!code.ok()) {
    return absl::DeadlineExceededError(absl::StrCat(argv[0], " did not finish within ",
                                                    absl::FormatDuration(timeout),
                                                    "; stderr:\n", process->err()));
  }
  RunResult result;
  result.exit_code = *code;
  result.out = process->out();
  result.err = process->err();
  return result;
}

}  // namespace netprobe::testing
