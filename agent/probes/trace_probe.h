#ifndef NETPROBE_AGENT_PROBES_TRACE_PROBE_H_
#define NETPROBE_AGENT_PROBES_TRACE_PROBE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "agent/net/event_loop.h"
#include "agent/net/resolver.h"
#include "agent/net/socket_address.h"
#include "agent/probes/hop_names.h"
#include "agent/probes/pacer.h"
#include "agent/probes/probe_base.h"
#include "agent/probes/trace_reply.h"
#include "agent/probes/trace_transport.h"
#include "agent/probes/traceroute_request.h"
#include "netprobe/v1/traceroute.pb.h"

namespace netprobe {

// The start every trace kind (traceroute, mtr) shares: resolve the target,
// open the transport (TraceTransport::ForPlan), size the kind's state (Prepare), and run
// its Pacer (a target per hop and flow, TracePacing) whose gate pauses while
// the client reads slowly and keeps wire numbers unambiguous. A kind adds
// its sends, its answers and its end. Not thread-safe: loop thread only.
class TraceProbe : public ProbeBase<v1::TracerouteEvent> {
 public:
  void Start() final;

 protected:
  TraceProbe(TraceroutePlan plan, EventLoop* loop, BlockingWork work,
             std::shared_ptr<Sink> sink, std::function<void()> done);

  // The target is resolved and the transport open (target_, payload_size_
  // and transport_ are set); the pacer is not made yet.
  virtual void Prepare() = 0;
  // The pacer's attempts per target (0: until stopped) and their interval.
  virtual uint32_t PacerCount() const = 0;
  virtual absl::Duration PacerInterval() const = 0;
  // Attempt `sequence` (1-based) of pacer target `target` (hop * flows +
  // flow) is due.
  virtual void Send(size_t target, uint32_t sequence) = 0;
  virtual void OnAnswer(const TraceTransport::Answer& answer) = 0;
  // The kernel's TX timestamp of the probe sent as wire key `wire`.
  virtual void OnSentAt(uint32_t wire, absl::Time sent) = 0;
  // Ends the probe when all is done; called after every wake-up.
  virtual void CheckFinished() = 0;
  virtual size_t InFlight() const = 0;
  // The kind's own gate on pacer target `target` (true: it may go); when it
  // said false, the kind pumps the pacer once that may have changed.
  virtual bool MayStart(size_t /*target*/) const { return true; }
  // With a capture: how comments name the probe sent as wire key `wire`
  // ("traceroute ttl=3 probe 2"); nullopt when it is not the kind's.
  virtual std::optional<std::string> CaptureLabel(uint32_t /*wire*/) const {
    return std::nullopt;
  }

  // The closing events: one TracerouteHop per hop (0..last(flow)) of each
  // flow that sent a probe (with `resolve`, the names of its addresses as
  // far as known), then the summary: the target, reached_ttl, sent
  // and received of those hops, and the answers no probe matched
  // (`unmatched` and the transport's, logged when any). Returns the summary
  // for the kind to complete (valid until `out` changes). Before the
  // transport opened (Prepare), the summary alone.
  v1::TracerouteSummary* AppendHopsAndSummary(
      absl::FunctionRef<uint32_t(uint32_t flow)> last,
      absl::FunctionRef<const TraceHopStats&(uint32_t hop, uint32_t flow)> stats,
      uint64_t unmatched, std::vector<v1::TracerouteEvent>* out) const;
  // Stops the pacer and closes the sockets (for the kind's Release()).
  void ReleaseTransport();
  void FillTarget(v1::Endpoint* out) const { FillTraceTarget(plan_, target_, out); }

  const TraceroutePlan plan_;
  const BlockingWork work_;
  const uint32_t token_;
  SocketAddress target_;
  uint32_t payload_size_ = 0;
  std::unique_ptr<TraceTransport> transport_;
  std::optional<Pacer> pacer_;
  std::optional<HopNames> names_;  // with `resolve`

 private:
  void OnResolved(absl::StatusOr<SocketAddress> address);
  void StartPacing();
  bool MaySend(size_t target);
  void Resume();
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TRACE_PROBE_H_
