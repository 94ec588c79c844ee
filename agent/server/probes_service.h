#ifndef NETPROBE_AGENT_SERVER_PROBES_SERVICE_H_
#define NETPROBE_AGENT_SERVER_PROBES_SERVICE_H_

#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/net/blocking_pool.h"
#include "agent/net/event_loop.h"
#include "agent/policy/caller_slots.h"
#include "agent/policy/policy.h"
#include "agent/probes/event_sink.h"
#include "agent/probes/probe_registry.h"
#include "agent/probes/send_budget.h"
#include "agent/probes/stream_bridge.h"
#include "agent/schedule/probe_starter.h"
#include "agent/server/caller.h"
#include "netprobe/v1/agent.pb.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe {

// The Probes service: validates each request, launches its probe on the loop
// and streams the probe's events. Thread-safe.
class ProbesService final : public v1::Probes::CallbackService, public ProbeStarter {
 public:
  // `policy` may be null: the default policy (tests). `slots` counts each
  // caller's running probes (shared with ResultsService); null: a table of
  // its own. Probes hold their slot, not this service: the registry may
  // destroy them after the service is gone.
  ProbesService(EventLoop* loop, ProbeRegistry* registry, BlockingPool* blocking,
                StreamLimits queue, PolicyHolder* policy = nullptr,
                std::shared_ptr<CallerSlots> slots = nullptr);

  // Which probes this build serves, for GetInfo.
  static std::vector<v1::ProbeSupport> Support();

  // The agent's bound TCP listen addresses ("127.0.0.1:7431"), whose traffic
  // captures exclude unless asked to include it.
  void SetOwnTcpListeners(std::vector<std::string> listeners);

  // In-process runs (scheduled probes, /probe scrapes; see ProbeStarter).
  absl::StatusOr<ProbeRegistry::ProbeId> Start(
      const Caller& caller, const v1::PingRequest& request,
      std::shared_ptr<EventSink<v1::PingEvent>> sink) override;
  absl::StatusOr<ProbeRegistry::ProbeId> Start(
      const Caller& caller, const v1::TcpConnectRequest& request,
      std::shared_ptr<EventSink<v1::TcpConnectEvent>> sink) override;
  absl::StatusOr<ProbeRegistry::ProbeId> Start(
      const Caller& caller, const v1::UdpEchoRequest& request,
      std::shared_ptr<EventSink<v1::UdpEchoEvent>> sink) override;
  absl::StatusOr<ProbeRegistry::ProbeId> Start(
      const Caller& caller, const v1::TracerouteRequest& request,
      std::shared_ptr<EventSink<v1::TracerouteEvent>> sink) override;
  absl::StatusOr<ProbeRegistry::ProbeId> Start(
      const Caller& caller, const v1::ThroughputRequest& request,
      std::shared_ptr<EventSink<v1::ThroughputEvent>> sink) override;
  void Cancel(ProbeRegistry::ProbeId id) override { registry_->Cancel(id); }

  grpc::ServerWriteReactor<v1::PingEvents>* Ping(grpc::CallbackServerContext*,
                                                 const v1::PingRequest*) override;
  grpc::ServerWriteReactor<v1::TcpConnectEvents>* TcpConnect(
      grpc::CallbackServerContext*, const v1::TcpConnectRequest*) override;
  grpc::ServerWriteReactor<v1::UdpEchoEvents>* UdpEcho(
      grpc::CallbackServerContext*, const v1::UdpEchoRequest*) override;
  grpc::ServerWriteReactor<v1::BroadcastEvents>* Broadcast(
      grpc::CallbackServerContext*, const v1::BroadcastRequest*) override;
  grpc::ServerWriteReactor<v1::MulticastEvents>* Multicast(
      grpc::CallbackServerContext*, const v1::MulticastRequest*) override;
  grpc::ServerWriteReactor<v1::CaptureEvents>* Capture(
      grpc::CallbackServerContext*, const v1::CaptureRequest*) override;
  grpc::ServerWriteReactor<v1::SocketsEvents>* Sockets(
      grpc::CallbackServerContext*, const v1::SocketsRequest*) override;
  grpc::ServerWriteReactor<v1::TracerouteEvents>* Traceroute(
      grpc::CallbackServerContext*, const v1::TracerouteRequest*) override;
  grpc::ServerWriteReactor<v1::ThroughputEvents>* Throughput(
      grpc::CallbackServerContext*, const v1::ThroughputRequest*) override;

 private:
  // Streams the events of the probe `make(plan, sink, done)` builds, or
  // rejects the call with the plan's validation error. `beyond_high_water`
  // bounds what the probe may emit after it paused; null for probes that
  // cannot pause (their excess is dropped and counted). `high_water`, in
  // events, defaults to the agent's stream queue capacity. `write_spacing`:
  // StreamLimits::min_write_spacing.
  // `slot` is held until the probe is destroyed (see Slot). A call with a
  // deadline ends kDeadlineGrace before it (common/deadline_grace.h), with
  // its StreamEnd and summaries.
  template <typename Event, typename Batch, typename Plan, typename Make>
  grpc::ServerWriteReactor<Batch>* Serve(
      const grpc::CallbackServerContext& context, absl::StatusOr<Plan> plan,
      size_t (*beyond_high_water)(const std::type_identity_t<Plan>&), Make make,
      std::shared_ptr<void> slot, std::optional<size_t> high_water = std::nullopt,
      absl::Duration write_spacing = absl::ZeroDuration());

  // The policy's verdict on a request from `caller`, by the probe kind's
  // ProbeRule<Plan> (agent/policy/probe_rule.h; a kind without one does not
  // compile): the probe enabled, the plan within the caller's limits and
  // concurrency (a slot taken, held by the probe), and its admission (target
  // checks, send budgets) filled in. The plan's own validation error passes
  // through.
  template <typename Plan>
  absl::StatusOr<Plan> Admit(const Caller& caller, absl::StatusOr<Plan> plan,
                             std::shared_ptr<void>* slot);

  // An in-process run (Start): admits `plan` for `caller` and launches the
  // probe `make` builds on `sink`; on error nothing was launched.
  template <typename Plan, typename Sink, typename Make>
  absl::StatusOr<ProbeRegistry::ProbeId> StartInProcess(const Caller& caller,
                                                        absl::StatusOr<Plan> plan,
                                                        std::shared_ptr<Sink> sink,
                                                        Make make);

  // Launches the probe `make(plan, sink, done)` builds as `id`; `slot` is
  // held until it is destroyed.
  template <typename Plan, typename Sink, typename Make>
  void Launch(ProbeRegistry::ProbeId id, Plan plan, std::shared_ptr<Sink> sink, Make make,
              std::shared_ptr<void> slot,
              absl::Duration stop_after = absl::InfiniteDuration());

  // The probe factories, shared by the RPCs and Start(); a probe's blocking
  // work (name lookups, dumps) is queued in its caller's turn.
  auto PingMaker(const Caller& caller);
  auto TcpConnectMaker(const Caller& caller);
  auto UdpEchoMaker(const Caller& caller);
  auto TracerouteMaker(const Caller& caller);
  auto ThroughputMaker(const Caller& caller);
  BlockingWork WorkOf(const Caller& caller) const;

  EventLoop* const loop_;
  ProbeRegistry* const registry_;
  BlockingPool* const blocking_;
  const StreamLimits queue_;  // each stream's, before a probe's adjustments
  PolicyHolder* const policy_;
  absl::Mutex mu_;
  std::vector<std::string> own_tcp_listeners_ ABSL_GUARDED_BY(mu_);
  // Probes running per caller key; held by each probe's slot too.
  const std::shared_ptr<CallerSlots> slots_;
  // The shared send budgets.
  SendBudgetRegistry budgets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_PROBES_SERVICE_H_
