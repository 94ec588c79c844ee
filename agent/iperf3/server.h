#ifndef NETPROBE_AGENT_IPERF3_SERVER_H_
#define NETPROBE_AGENT_IPERF3_SERVER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/iperf3/server_session.h"
#include "agent/net/cidr.h"
#include "agent/net/event_loop.h"
#include "agent/net/socket_address.h"
#include "agent/net/unique_fd.h"

namespace netprobe::iperf3 {

struct ServerOptions {
  // "[::]:5201" serves IPv4 too; falls back to 0.0.0.0 without IPv6. Port 0:
  // the kernel chooses (bound() tells).
  SocketAddress listen = *SocketAddress::FromLiteral("::", kDefaultPort);
  // Tests running at once (iperf3 -s runs one); more are refused as busy.
  int max_concurrent_tests = 2;
  // Clients allowed to run tests; empty: everyone.
  std::vector<Cidr> allowed_clients;
  // max_duration, max_parallel and the timeouts.
  SessionLimits limits;
};

// An iperf3 server (`iperf3 -s` on the wire, 3.x clients) on the agent's
// event loop: the control connection, then data connections on the same TCP
// port matched by their cookie (unknown cookies are closed), or UDP streams
// "accepted" on a UDP socket of the same port as iperf3 does (the socket that
// got the client's connect message is connect()ed to it and becomes the
// stream; a new one takes its place). Unlike iperf3 -s, runs up to
// max_concurrent_tests tests at once. A UDP connect message carries no
// cookie: it goes to the oldest test of the sender's address that waits for
// a UDP stream, so two UDP tests from one host that open their streams at the
// same moment can get each other's. Data sockets get the test's window, MSS,
// congestion, TOS and nodelay once accepted (iperf3 -s re-creates its
// listener with them, which a shared listener cannot do). Refusals: ACCESS_DENIED before
// the parameters (busy, client not allowed), SERVER_ERROR with iperf3's error number
// after them (over the limits, unreadable parameters). Loop thread only (or before the
// loop runs), except the counters, which any thread may read.
class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(EventLoop* loop,
                                                       ServerOptions options);
  // Closes every connection of every test at once.
  ~Server();

  // The TCP (and UDP) address listened on, with the port chosen for port 0.
  const SocketAddress& bound() const { return bound_; }
  // As started (immutable: any thread).
  const ServerOptions& options() const { return options_; }

  // Tests that began (TEST_START sent), that ended with the results
  // exchanged, refused by reason, and those open now (from the cookie on).
  uint64_t tests_started() const { return started_.load(std::memory_order_relaxed); }
  uint64_t tests_completed() const { return completed_.load(std::memory_order_relaxed); }
  uint64_t refused(Refusal reason) const {
    return refused_[static_cast<int>(reason)].load(std::memory_order_relaxed);
  }
  int active_tests() const { return active_.load(std::memory_order_relaxed); }

 private:
  // A TCP connection whose cookie has not arrived yet.
  struct Pending {
    UniqueFd fd;
    SocketAddress peer;
    std::string cookie;
    EventLoop::TimerId timer = 0;
  };

  Server(EventLoop* loop, ServerOptions options, UniqueFd listener, SocketAddress bound)
      : loop_(loop),
        options_(std::move(options)),
        listener_(std::move(listener)),
        bound_(bound) {}
  void OnAccept();
  bool Allowed(const SocketAddress& peer) const;
  void OnPendingReadable(int fd);
  void DropPending(int fd);
  // The cookie is complete: a data connection of a session, or a new test.
  void Dispatch(Pending pending);
  void Count(Refusal reason) {
    refused_[static_cast<int>(reason)].fetch_add(1, std::memory_order_relaxed);
  }
  // UDP: the socket waiting for the next stream's connect message (open all
  // along; datagrams that are not a connect message from a client whose test
  // waits for streams are dropped).
  void ReopenUdpListener();
  void OnUdpReadable();
  void OnSessionEnd(bool completed);

  EventLoop* const loop_;
  const ServerOptions options_;
  UniqueFd listener_;
  const SocketAddress bound_;
  UniqueFd udp_listener_;
  std::map<int, Pending> pending_;
  std::vector<std::unique_ptr<ServerSession>> sessions_;
  std::atomic<uint64_t> started_{0}, completed_{0};
  std::array<std::atomic<uint64_t>, kRefusalCount> refused_{};
  std::atomic<int> active_{0};
  // Deferred work checks it: the server may be gone by then.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace netprobe::iperf3

#endif  // NETPROBE_AGENT_IPERF3_SERVER_H_
