#ifndef NETPROBE_AGENT_PROBES_THROUGHPUT_PROBE_H_
#define NETPROBE_AGENT_PROBES_THROUGHPUT_PROBE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/iperf3/client_session.h"
#include "agent/net/event_loop.h"
#include "agent/net/resolver.h"
#include "agent/net/socket_address.h"
#include "agent/probes/probe_base.h"
#include "agent/probes/throughput_request.h"
#include "netprobe/v1/throughput.pb.h"

namespace netprobe {

// A throughput test: an iperf3 client session (agent/iperf3) toward the
// plan's target, sampled every interval into one event per stream (with the
// sender's TCP_INFO: retransmits, cwnd, RTT, and the times it was busy or
// limited by the receiver's window or its send buffer), then the totals of
// both ends and what limited the sender. The session owns the test's timing;
// this probe only watches and reports. Cancelling closes every socket at
// once (RST: nothing queued is sent). Not thread-safe: loop thread only.
class ThroughputProbe final : public ProbeBase<v1::ThroughputEvent> {
 public:
  ThroughputProbe(ThroughputPlan plan, EventLoop* loop, BlockingWork work,
                  std::shared_ptr<Sink> sink, std::function<void()> done);
  ~ThroughputProbe() override;

  void Start() override;

  // Events a test emits beyond the stream's high water: it never pauses, so
  // its interval events (a handful a second) and closing events must fit.
  static size_t MaxEventsBeyondHighWater(const ThroughputPlan& plan);

 private:
  // One stream's counters and TCP_INFO chrono times at a moment.
  struct Sample {
    uint64_t bytes = 0;
    uint64_t datagrams = 0;
    int64_t lost = 0;
    uint64_t out_of_order = 0;
    uint64_t not_sent = 0;  // UDP sender, since the start
    uint32_t total_retrans = 0;
    absl::Duration busy, rwnd_limited, sndbuf_limited;
  };
  struct StreamState {
    Sample last;      // at the previous interval's end
    Sample measured;  // when the omitted seconds ended (or at the start)
    Sample final;     // at the test's end
    bool has_final = false;
  };

  void OnResolved(absl::StatusOr<SocketAddress> address);
  // With a capture: the control connection's packets and each data
  // stream's, by their local ports (learnt as the sockets connect).
  std::optional<ProbeCapture::Match> ClassifyCaptured(const CapturedIp& ip);
  void LearnCapturePorts();
  void OnRunning();
  void OnOmitOver();
  void OnTestEnd();
  void OnDone(iperf3::ClientSession::Outcome outcome);
  void ArmInterval();
  // Emits the interval [last_sample_, now] for every stream (and the sums).
  void SampleInterval();
  Sample Read(const iperf3::DataStream& stream, v1::TcpInfo* info) const;
  double Since(absl::Duration t) const;

  void Release() override;
  void AppendSummaries(std::vector<v1::ThroughputEvent>* out) override;
  std::string CutShortDetail() const override;
  void BeforeCutShort() override;

  const ThroughputPlan plan_;
  const BlockingWork work_;
  SocketAddress target_;
  std::unique_ptr<iperf3::ClientSession> session_;
  std::vector<StreamState> streams_;             // by index in session_->streams()
  std::optional<absl::Duration> started_;        // loop time of TEST_RUNNING
  std::optional<absl::Duration> measured_from_;  // the omitted seconds' end
  std::optional<absl::Duration> ended_;
  absl::Duration last_sample_;
  bool omitting_ = false;
  EventLoop::TimerId interval_timer_ = 0;
  std::optional<iperf3::ClientSession::Outcome> outcome_;
  std::string error_;  // why the test did not complete
  // With a capture: key (1: control, 1 + stream id) and comment by local port.
  std::unordered_map<uint16_t, std::pair<uint64_t, std::string>> capture_ports_;
  size_t capture_streams_known_ = 0;
  bool capture_control_known_ = false;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_THROUGHPUT_PROBE_H_
