#include "agent/server/unix_acceptor.h"

#include <errno.h>
#include <grpcpp/server_posix.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agent/net/unix_listener.h"
#include "agent/server/unix_peers.h"
#include "agent/util/log.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

// After accept() found no descriptor left, the next try waits this long: the
// backlog holds the callers meanwhile, and the thread does not spin.
constexpr int kOutOfFdsBackoffMs = 100;
// A user refused over the limit may retry in a loop: one log line per this.
constexpr absl::Duration kLimitLineEvery = absl::Seconds(10);

}  // namespace

UnixAcceptor::UnixAcceptor(std::vector<UniqueFd> listeners, UnixAcceptorOptions options)
    : listeners_(std::move(listeners)), options_(std::move(options)) {}

UnixAcceptor::~UnixAcceptor() { Stop(); }

absl::Status UnixAcceptor::Start(grpc::Server* server) {
  server_ = server;
  wake_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) return PosixError("eventfd", errno);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "np-unix-accept");
    Serve(wake_.get(), absl::InfiniteDuration(), nullptr);
  });
  return absl::OkStatus();
}

void UnixAcceptor::Attach(grpc::Server* server) { server_ = server; }

void UnixAcceptor::ServeUntilReadable(int stop_fd, absl::Duration tick_every,
                                      const std::function<void()>& tick) {
  Serve(stop_fd, tick_every, tick);
}

void UnixAcceptor::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof(one));
  thread_.join();
}

void UnixAcceptor::Serve(int stop_fd, absl::Duration tick_every,
                         const std::function<void()>& tick) {
  std::vector<pollfd> fds;
  fds.push_back({stop_fd, POLLIN, 0});
  for (const UniqueFd& listener : listeners_) fds.push_back({listener.get(), POLLIN, 0});
  const bool ticking = tick != nullptr && tick_every != absl::InfiniteDuration();
  absl::Time next_tick = absl::Now() + tick_every;
  while (true) {
    int timeout = out_of_fds_ ? kOutOfFdsBackoffMs : -1;
    if (ticking) {
      const absl::Time now = absl::Now();
      if (now >= next_tick) {
        tick();
        next_tick = now + tick_every;
      }
      const int64_t until_tick =
          absl::ToInt64Milliseconds(absl::Ceil(next_tick - now, absl::Milliseconds(1)));
      timeout = timeout < 0 ? static_cast<int>(until_tick)
                            : std::min(timeout, static_cast<int>(until_tick));
    }
    // While out of descriptors only the stop fd is watched: the listeners
    // stay readable and would wake the thread at once.
    const int ready = poll(fds.data(), out_of_fds_ ? 1 : fds.size(), timeout);
    if (ready < 0 && errno != EINTR) {
      LogLine(absl::StrCat("netprobe-agent: unix socket poll: ", strerror(errno)));
      out_of_fds_ = true;  // back off, then try again
      continue;
    }
    if (ready < 0) continue;  // EINTR
    if (fds[0].revents != 0) return;
    // A wake-up for a tick alone accepts nothing new.
    if (ready == 0 && !out_of_fds_) continue;
    out_of_fds_ = false;
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents != 0 || ready == 0) AcceptAll(fds[i].fd);
    }
  }
}

void UnixAcceptor::AcceptAll(int listener) {
  while (true) {
    const int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      // EAGAIN, or a connection that went away before it was accepted.
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
          errno == ECONNABORTED) {
        return;
      }
      // Out of descriptors or memory, or worse: the listener stays readable,
      // so back off rather than spin.
      if (!out_of_fds_) {
        LogLine(absl::StrCat("netprobe-agent: unix socket accept: ", strerror(errno),
                             "; callers wait in the backlog"));
      }
      refused_.fetch_add(1);
      out_of_fds_ = true;
      return;
    }
    absl::StatusOr<PeerCredentials> credentials = PeerCredentialsOf(fd);
    if (!credentials.ok()) {
      LogLine(absl::StrCat("netprobe-agent: unix connection refused: ",
                           credentials.status().message()));
      close(fd);
      refused_.fetch_add(1);
      continue;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
      LogLine(absl::StrCat("netprobe-agent: unix connection refused: fstat: ",
                           strerror(errno)));
      close(fd);
      refused_.fetch_add(1);
      continue;
    }
    Caller caller = UnixCallerOf(*credentials);
    if (OverLimit(credentials->uid, caller.identity)) {
      close(fd);
      refused_.fetch_add(1);
      if (options_.on_over_limit) options_.on_over_limit();
      continue;
    }
    UnixPeers::Get().Set(fd, std::move(caller), st.st_ino);
    if (options_.on_accepted) options_.on_accepted(absl::StrCat("fd:", fd));
    accepted_.fetch_add(1);
    grpc::AddInsecureChannelFromFd(server_, fd);  // gRPC owns fd from here
  }
}

bool UnixAcceptor::OverLimit(uid_t uid, const std::string& who) {
  const uint32_t limit = options_.max_connections_per_uid;
  if (uid == 0 || limit == 0) return false;
  const size_t open = UnixPeers::Get().OpenConnectionsOf(uid);
  if (open < limit) return false;
  ++unlogged_over_limit_;
  const absl::Time now = absl::Now();
  if (now - last_limit_line_ >= kLimitLineEvery) {
    LogLine(absl::StrCat(
        "netprobe-agent: unix connection of ", who, " closed: that uid holds ", open,
        " open connections, the limit ",
        "(server_limits.max_unix_connections_per_uid is ", limit, "); ",
        unlogged_over_limit_, " such connection(s) closed since the last line"));
    last_limit_line_ = now;
    unlogged_over_limit_ = 0;
  }
  return true;
}

}  // namespace netprobe
