#ifndef NETPROBE_AGENT_SCHEDULE_PROBE_STARTER_H_
#define NETPROBE_AGENT_SCHEDULE_PROBE_STARTER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "agent/policy/caller.h"
#include "agent/probes/event_sink.h"
#include "agent/probes/probe_registry.h"
#include "netprobe/v1/ping.pb.h"
#include "netprobe/v1/tcp.pb.h"
#include "netprobe/v1/throughput.pb.h"
#include "netprobe/v1/traceroute.pb.h"
#include "netprobe/v1/udp.pb.h"

namespace netprobe {

// How scheduled runs and /probe scrapes start a probe: the RPC's own path
// (validation, policy, the probe), with `caller` standing for the client and
// `sink` for its stream. The agent's Probes service implements it
// (agent/server); schedule/ knows nothing of gRPC. Thread-safe.
class ProbeStarter {
 public:
  virtual ~ProbeStarter() = default;

  // On success the probe is launched and will finish `sink` exactly once;
  // Cancel(id) stops it without events. On error nothing was launched and
  // `sink` is untouched.
  virtual absl::StatusOr<ProbeRegistry::ProbeId> Start(
      const Caller& caller, const v1::PingRequest& request,
      std::shared_ptr<EventSink<v1::PingEvent>> sink) = 0;
  virtual absl::StatusOr<ProbeRegistry::ProbeId> Start(
      const Caller& caller, const v1::TcpConnectRequest& request,
      std::shared_ptr<EventSink<v1::TcpConnectEvent>> sink) = 0;
  virtual absl::StatusOr<ProbeRegistry::ProbeId> Start(
      const Caller& caller, const v1::UdpEchoRequest& request,
      std::shared_ptr<EventSink<v1::UdpEchoEvent>> sink) = 0;
  virtual absl::StatusOr<ProbeRegistry::ProbeId> Start(
      const Caller& caller, const v1::TracerouteRequest& request,
      std::shared_ptr<EventSink<v1::TracerouteEvent>> sink) = 0;
  virtual absl::StatusOr<ProbeRegistry::ProbeId> Start(
      const Caller& caller, const v1::ThroughputRequest& request,
      std::shared_ptr<EventSink<v1::ThroughputEvent>> sink) = 0;
  virtual void Cancel(ProbeRegistry::ProbeId id) = 0;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SCHEDULE_PROBE_STARTER_H_
