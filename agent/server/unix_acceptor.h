#ifndef NETPROBE_AGENT_SERVER_UNIX_ACCEPTOR_H_
#define NETPROBE_AGENT_SERVER_UNIX_ACCEPTOR_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "agent/net/unique_fd.h"

namespace netprobe {

// Accepts the connections of the agent's unix sockets itself, so that every
// call knows who is calling: it reads the peer's credentials (SO_PEERCRED,
// SO_PEERGROUPS), records them in UnixPeers, and hands the connection to
// gRPC (AddInsecureChannelFromFd), which serves it like one it accepted.
// One thread for all the sockets; accept never waits for a call.
class UnixAcceptor {
 public:
  // `listeners`: listening sockets (ListenUnix), non-blocking.
  explicit UnixAcceptor(std::vector<UniqueFd> listeners);
  ~UnixAcceptor();

  // Starts the thread. `server` must outlive Stop().
  absl::Status Start(grpc::Server* server);
  // Stops accepting (the listening sockets stay open until destruction, so
  // a connect then waits in the backlog rather than finding no socket);
  // connections handed over before stay gRPC's. Idempotent.
  void Stop();

  // Connections accepted and handed to gRPC; refused (credentials could not
  // be read, or the process was out of descriptors).
  uint64_t accepted() const { return accepted_.load(); }
  uint64_t refused() const { return refused_.load(); }

 private:
  void Run();
  void AcceptAll(int listener);

  std::vector<UniqueFd> listeners_;
  UniqueFd wake_;  // eventfd: Stop()
  grpc::Server* server_ = nullptr;
  std::thread thread_;
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};
  bool out_of_fds_ = false;  // the thread's: back off before accepting again
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_UNIX_ACCEPTOR_H_
