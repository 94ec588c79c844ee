#ifndef NETPROBE_AGENT_IPERF3_CLIENT_SESSION_H_
#define NETPROBE_AGENT_IPERF3_CLIENT_SESSION_H_

// One iperf3 test as its client, on the event loop: the control connection,
// the parameter exchange, the data streams, the test's timing (duration,
// bytes, omitted seconds) and the result exchange, as iperf3 3.12's client
// does them (iperf_client_api.c), without blocking.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/iperf3/cpu_usage.h"
#include "agent/iperf3/data_stream.h"
#include "agent/iperf3/wire.h"
#include "agent/net/event_loop.h"
#include "agent/net/socket_address.h"
#include "agent/net/socket_setup.h"
#include "agent/net/unique_fd.h"

namespace netprobe::iperf3 {

struct ClientSpec {
  SocketAddress server;  // resolved, with the port
  // Sent to the server. The session fills in what iperf3's client would:
  // UDP's default bitrate (1 Mbit/s, iperf3's UDP_RATE) when bandwidth is 0,
  // and UDP's datagram size (the control connection's MSS) when length is 0.
  // The data sockets get params' window (SO_SNDBUF and SO_RCVBUF) where
  // data_setup sets no buffer, and mss, nodelay, tos and congestion over
  // data_setup's.
  TestParams params;
  SocketSetup control_setup;  // interface, source address, mark, ...
  // The same for the data sockets, + buffers, TOS, ... A source port here
  // is iperf3's --cport: stream i binds it + i.
  SocketSetup data_setup;
  absl::Duration connect_timeout = absl::Seconds(5);
  // The far end silent this long (no control byte when one is due, no data
  // moving during the test) ends the session.
  absl::Duration stall_timeout = absl::Seconds(5);
};

class ClientSession {
 public:
  struct Outcome {
    // OK: the test ran and the results were exchanged. Otherwise why not
    // ("not an iperf3 server (it sent ...)", "the server is busy
    // (ACCESS_DENIED)", the connect's errno or timeout, "the server stopped
    // answering ...").
    absl::Status status;
    // The data streams ran: `local` holds what was measured, even when the
    // status is an error (the server vanished mid-test).
    bool ran = false;
    TestResults local;                  // what we sent (or would have sent)
    std::optional<TestResults> remote;  // the server's, when it sent them
    // From the start of the test (after the omitted seconds) to its end.
    absl::Duration measured;
  };
  // On the loop thread. on_running, on_omit_over and on_test_end may Cancel() the
  // session but must not destroy it.
  struct Callbacks {
    // TEST_RUNNING arrived and the streams started: the test clock's 0.
    std::function<void()> on_running;
    // The omitted seconds are over and the counters were reset.
    std::function<void()> on_omit_over;
    // The test's time or bytes are done: the senders stop now, the data
    // sockets are still open (a last TCP_INFO); TEST_END follows.
    std::function<void()> on_test_end;
    // Exactly once, unless Cancel()led first. It may destroy the session.
    std::function<void(Outcome)> on_done;
  };

  ClientSession(EventLoop* loop, ClientSpec spec, Callbacks callbacks);
  ~ClientSession();  // Cancel()
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // Connects and runs the test. Loop thread only, like everything here.
  void Start();
  // At once: stops sending and closes every socket (control and data); no
  // callback runs after it. Idempotent.
  void Cancel();

  // The data streams, in iperf3's order (ids 1, 3, 4, ...; with
  // bidirectional the client's senders first); empty before CREATE_STREAMS.
  // For sampling counters and TCP_INFO each interval.
  const std::vector<std::unique_ptr<DataStream>>& streams() const { return streams_; }
  // The control connection's socket (-1 before Start and once closed).
  int control_fd() const { return control_.get(); }
  // The parameters as sent (with the defaults the session filled in).
  const TestParams& params() const { return spec_.params; }
  bool omitting() const { return omitting_; }

 private:
  enum class Phase {
    kIdle,
    kConnecting,
    kWaitParamExchange,  // cookie sent
    kWaitCreateStreams,  // parameters sent
    kCreatingStreams,
    kWaitTestRunning,  // streams connected
    kRunning,
    kWaitExchangeResults,  // TEST_END sent
    kReadingResults,       // ours sent, theirs coming
    kWaitDisplayResults,
    kDone,
  };

  // The control connection.
  void OnControlEvents(uint32_t events);
  void OnControlConnected();
  void SendControl(absl::string_view bytes);
  void FlushControl();
  void ReadControl();
  void ProcessControlInput();
  void HandleState(int8_t state);
  absl::Status ControlLost(const absl::Status& why) const;
  absl::Status ControlClosed() const;
  // "during the test", ...: where in the test the session is, for errors.
  std::string PhaseText() const;
  // What the first bytes from a far end that is not iperf3 say.
  std::string DescribeForeignBytes() const;

  // The data streams: opened one after the other, as iperf3's client does
  // (its server tells them apart by the order they arrive in).
  void CreateStreams();
  void CreateNextStream();
  int NextStreamId() const;
  int StreamLength() const;
  void OnStreamConnectEvents(uint32_t events);
  void StreamConnected();
  void StartTest();
  void OmitOver();
  void BudgetReached();
  void EndTest();
  void OnStreamClosed(const absl::Status& why);

  // Silence: checked every StallPeriod(); progress is any control byte or
  // data byte moved.
  absl::Duration StallPeriod() const;
  uint64_t Progress() const;
  void CheckStall();
  absl::Status StallStatus() const;

  TestResults LocalResults() const;
  // Ends the session: closes everything and calls on_done (deferred) once.
  void Finish(absl::Status status);
  void CancelTimer(EventLoop::TimerId& id);
  void CloseAll();

  EventLoop* const loop_;
  ClientSpec spec_;
  Callbacks callbacks_;
  Phase phase_ = Phase::kIdle;
  bool cancelled_ = false;
  bool ran_ = false;
  std::string cookie_;
  // Deferred tasks hold it weakly: the session may be gone when they run.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  UniqueFd control_;
  bool control_watched_ = false;
  bool control_writing_ = false;
  std::string out_;  // control bytes not yet taken by the kernel
  std::string in_;   // control bytes not yet handled
  uint64_t control_bytes_in_ = 0;
  std::string first_bytes_;  // the first control bytes, for foreign far ends
  JsonFrameReader results_reader_;
  bool reading_server_error_ = false;
  std::optional<TestResults> remote_;
  std::optional<TestResults> sent_results_;  // ours, as sent in the exchange

  struct PendingStream {
    UniqueFd fd;
    bool sender = false;
    bool watched = false;
  };
  std::optional<PendingStream> pending_;  // being connected
  int streams_wanted_ = 0;
  bool running_early_ = false;  // TEST_RUNNING came before the last UDP reply
  SocketSetup stream_setup_;
  std::string congestion_used_;

  std::vector<std::unique_ptr<DataStream>> streams_;
  std::unique_ptr<ByteBudget> send_budget_, receive_budget_;
  CpuUsage cpu_;
  CpuPercent cpu_at_end_;
  bool omitting_ = false;
  absl::Duration running_at_, measure_from_, ended_at_;

  EventLoop::TimerId phase_timer_ = 0;  // the connect timeout
  EventLoop::TimerId omit_timer_ = 0;
  EventLoop::TimerId end_timer_ = 0;
  EventLoop::TimerId stall_timer_ = 0;
  absl::Duration last_progress_at_;
  uint64_t last_progress_ = 0;
};

}  // namespace netprobe::iperf3

#endif  // NETPROBE_AGENT_IPERF3_CLIENT_SESSION_H_
