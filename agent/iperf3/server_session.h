#ifndef NETPROBE_AGENT_IPERF3_SERVER_SESSION_H_
#define NETPROBE_AGENT_IPERF3_SERVER_SESSION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/iperf3/cpu_usage.h"
#include "agent/iperf3/wire.h"
#include "agent/net/event_loop.h"
#include "agent/net/socket_address.h"
#include "agent/net/unique_fd.h"

namespace netprobe::iperf3 {

// Why a test was turned away (each is counted).
enum class Refusal {
  kBusy,              // max_concurrent_tests were running (ACCESS_DENIED)
  kClientNotAllowed,  // the client's address is outside allowed_clients (ACCESS_DENIED)
  kOverLimits,        // the parameters ask for more than the limits (SERVER_ERROR)
  kBadParams,         // the parameters could not be read (SERVER_ERROR)
  kTimeout,           // the client sent no cookie or no parameters in time
};
inline constexpr int kRefusalCount = 5;
// "busy", "client_not_allowed", "over_limits", "bad_params", "timeout".
absl::string_view RefusalName(Refusal refusal);

// The limits a test is held to (ServerOptions' share of them).
struct SessionLimits {
  absl::Duration max_duration = absl::Seconds(60);  // time + omit
  int max_parallel = 16;
  // Cookie, parameters, data connections, results: each step gets this long.
  absl::Duration handshake_timeout = absl::Seconds(5);
  // After time + omit, how long the client gets to send TEST_END before the
  // test is ended (iperf3 -s waits 40 s).
  absl::Duration end_grace = absl::Seconds(10);
  // While the test runs: nothing received on any data stream (when this end
  // receives) and nothing on the control connection for this long ends it.
  absl::Duration stall_timeout = absl::Seconds(10);
};

// One iperf3 test on the server side, from the cookie on: the parameter
// exchange, the data streams, the result exchange, as iperf3 3.12's server
// runs them (iperf_server_api.c). The Server hands it the control connection
// (cookie read) and the data sockets that belong to it.
// Loop thread only. The owner deletes it once on_end ran (not inside it).
class ServerSession {
 public:
  struct Callbacks {
    // The parameters were refused; the session is ending.
    std::function<void(Refusal)> on_refused;
    // TEST_START was sent: the test is running.
    std::function<void()> on_started;
    // Exactly once, last: `completed` when the results were exchanged.
    std::function<void(bool completed, const absl::Status& why)> on_end;
  };
  ServerSession(EventLoop* loop, UniqueFd control, SocketAddress peer, std::string cookie,
                SessionLimits limits, Callbacks callbacks);
  ~ServerSession();
  ServerSession(const ServerSession&) = delete;
  ServerSession& operator=(const ServerSession&) = delete;

  // Sends PARAM_EXCHANGE and goes on by itself.
  void Start();

  const std::string& cookie() const { return cookie_; }
  // on_end ran.
  bool ended() const { return phase_ == Phase::kEnded; }
  const SocketAddress& peer() const { return peer_; }
  // Whether it waits for data streams of this protocol (after CREATE_STREAMS).
  bool WantsTcpStream() const;
  bool WantsUdpStream() const;
  // A data connection that sent this session's cookie (TCP), or a UDP socket
  // connect()ed to the client after its connect message (the Server has
  // answered it). REQUIRES: WantsTcpStream() / WantsUdpStream().
  void AddStream(UniqueFd fd);

 private:
  enum class Phase { kParams, kCreateStreams, kRunning, kResults, kDisplayed, kEnded };
  struct Stream;

  void OnControl(uint32_t events);
  // Handles bytes read from the control connection by phase; false once ended.
  bool HandleControl(absl::string_view data);
  void OnParams();
  void Refuse(Refusal refusal, int iperf_errno, const std::string& why);
  absl::Status SetUpDataSocket(int fd);
  void BeginTest();
  void OnTestEnd();
  void OnClientResults();
  void StopStreams();
  TestResults OurResults();
  void CheckStall();
  // Queues bytes on the control connection.
  void Send(absl::string_view bytes);
  void SendState(State state);
  void Flush();
  void ArmStepTimer(const char* step);
  void End(bool completed, absl::Status why);

  EventLoop* const loop_;
  UniqueFd control_;
  const SocketAddress peer_;
  const std::string cookie_;
  const SessionLimits limits_;
  Callbacks callbacks_;

  Phase phase_ = Phase::kParams;
  TestParams params_;
  JsonFrameReader frame_;
  std::string out_;  // control bytes not yet written
  bool want_write_ = false;
  EventLoop::TimerId step_timer_ = 0, end_timer_ = 0, omit_timer_ = 0, stall_timer_ = 0;
  int streams_expected_ = 0;
  int receivers_expected_ = 0;  // the first ones accepted receive (iperf3's order)
  std::vector<std::unique_ptr<Stream>> streams_;
  std::string congestion_used_;
  CpuUsage cpu_;
  CpuPercent cpu_percent_;  // at TEST_END
  // Since when the streams count (TEST_RUNNING, then the end of omit).
  absl::Duration counting_since_;
  absl::Duration test_start_;
  uint64_t last_progress_bytes_ = 0;
  absl::Duration last_progress_;
};

}  // namespace netprobe::iperf3

#endif  // NETPROBE_AGENT_IPERF3_SERVER_SESSION_H_
