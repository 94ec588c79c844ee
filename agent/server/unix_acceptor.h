#ifndef NETPROBE_AGENT_SERVER_UNIX_ACCEPTOR_H_
#define NETPROBE_AGENT_SERVER_UNIX_ACCEPTOR_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/net/unique_fd.h"

namespace netprobe {

struct UnixAcceptorOptions {
  // Open connections one uid may hold (root excepted; 0: no limit). A
  // further one is closed as it is accepted, so a local user cannot take
  // every descriptor of the agent and lock the others out.
  uint32_t max_connections_per_uid = 0;
  // On the accept thread, for each connection handed to gRPC, with the peer
  // string gRPC gives its calls ("fd:N").
  std::function<void(absl::string_view peer)> on_accepted;
  // On the accept thread, for each connection closed over the limit.
  std::function<void()> on_over_limit;
};

// Accepts the connections of the agent's unix sockets itself, so that every
// call knows who is calling: it reads the peer's credentials (SO_PEERCRED,
// SO_PEERGROUPS), records them in UnixPeers, and hands the connection to
// gRPC (AddInsecureChannelFromFd), which serves it like one it accepted.
// One thread for all the sockets (or the owner's, ServeUntilReadable());
// accept never waits for a call.
class UnixAcceptor {
 public:
  // `listeners`: listening sockets (ListenUnix), non-blocking.
  UnixAcceptor(std::vector<UniqueFd> listeners, UnixAcceptorOptions options);
  ~UnixAcceptor();

  // Starts the thread. `server` must outlive Stop().
  absl::Status Start(grpc::Server* server);
  // Instead of Start(): no thread; the owner accepts with ServeUntilReadable().
  // `server` must outlive the last ServeUntilReadable().
  void Attach(grpc::Server* server);
  // After Attach(): accepts on the calling thread until `stop_fd` is readable
  // (left so: the caller reads it), and calls `tick` every `tick_every`
  // (InfiniteDuration(): never). Only ever called from one thread.
  void ServeUntilReadable(int stop_fd, absl::Duration tick_every,
                          const std::function<void()>& tick);
  // Stops accepting (the listening sockets stay open until destruction, so
  // a connect then waits in the backlog rather than finding no socket);
  // connections handed over before stay gRPC's. Idempotent. After Attach()
  // it only means: no ServeUntilReadable() any more.
  void Stop();

  // Connections accepted and handed to gRPC; refused (credentials could not
  // be read, the process was out of descriptors, or the uid's limit).
  uint64_t accepted() const { return accepted_.load(); }
  uint64_t refused() const { return refused_.load(); }

 private:
  // Accepts until `stop_fd` is readable; ticks as ServeUntilReadable().
  void Serve(int stop_fd, absl::Duration tick_every, const std::function<void()>& tick);
  void AcceptAll(int listener);
  // Whether a new connection of `uid` (named `who`) is over its limit; logs
  // the first refusal and then at most one line per 10 s with their count.
  bool OverLimit(uid_t uid, const std::string& who);

  std::vector<UniqueFd> listeners_;
  const UnixAcceptorOptions options_;
  absl::Time last_limit_line_ = absl::InfinitePast();  // the thread's
  uint64_t unlogged_over_limit_ = 0;                   // the thread's
  UniqueFd wake_;                                      // eventfd: Stop()
  grpc::Server* server_ = nullptr;
  std::thread thread_;
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};
  bool out_of_fds_ = false;  // the thread's: back off before accepting again
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_UNIX_ACCEPTOR_H_
