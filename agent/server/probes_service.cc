#include "agent/server/probes_service.h"

#include "absl/strings/str_cat.h"
#include "agent/policy/probe_rule.h"
#include "agent/probes/broadcast_probe.h"
#include "agent/probes/broadcast_request.h"
#include "agent/probes/capture_probe.h"
#include "agent/probes/capture_request.h"
#include "agent/probes/multicast_probe.h"
#include "agent/probes/multicast_request.h"
#include "agent/probes/ping_probe.h"
#include "agent/probes/ping_request.h"
#include "agent/probes/sockets_probe.h"
#include "agent/probes/sockets_request.h"
#include "agent/probes/tcp_connect_probe.h"
#include "agent/probes/tcp_connect_request.h"
#include "agent/probes/throughput_probe.h"
#include "agent/probes/throughput_request.h"
#include "agent/probes/trace_probe_factory.h"
#include "agent/probes/traceroute_request.h"
#include "agent/probes/udp_echo_probe.h"
#include "agent/probes/udp_echo_request.h"
#include "agent/server/caller.h"
#include "agent/server/stream_reactor.h"
#include "common/deadline_grace.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

absl::Duration StopAfterFor(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteDuration();
  }
  return StopBeforeDeadline(
      absl::FromChrono(deadline - std::chrono::system_clock::now()));
}

}  // namespace

ProbesService::ProbesService(EventLoop* loop, ProbeRegistry* registry,
                             BlockingPool* blocking, StreamLimits queue,
                             PolicyHolder* policy, std::shared_ptr<CallerSlots> slots)
    : loop_(loop),
      registry_(registry),
      blocking_(blocking),
      queue_(queue),
      policy_(policy),
      slots_(slots != nullptr ? std::move(slots) : CallerSlots::Create()) {
  // probes.proto defines only the service, so nothing else pulls its generated
  // object into a static link and reflection could not describe Probes. A
  // volatile read of its descriptor table's address keeps it linked.
  static const void* volatile keep = &descriptor_table_netprobe_2fv1_2fprobes_2eproto;
  (void)keep;
}

std::vector<v1::ProbeSupport> ProbesService::Support() {
  std::vector<v1::ProbeSupport> out;
  for (const char* name : Policy::ProbeNames()) {
    v1::ProbeSupport support;
    support.set_name(name);
    support.set_implemented(true);
    out.push_back(std::move(support));
  }
  return out;
}

template <typename Plan>
absl::StatusOr<Plan> ProbesService::Admit(const Caller& caller, absl::StatusOr<Plan> plan,
                                          std::shared_ptr<void>* slot) {
  // Every probe kind goes through its rule; there is no path around it.
  static_assert(HasProbeRule<Plan>,
                "every probe kind declares its policy rule: specialize ProbeRule<Plan> "
                "in agent/policy/probe_rule.h");
  using Rule = ProbeRule<Plan>;
  const std::shared_ptr<const Policy> policy =
      policy_ != nullptr ? policy_->Get() : Policy::Default();
  if (absl::Status enabled = policy->CheckProbe(caller, Rule::kName); !enabled.ok()) {
    return enabled;
  }
  if (!plan.ok()) return plan;
  if constexpr (requires { plan->capture; }) {
    // A probe's own capture is a capture: the Capture probe must be enabled
    // for the caller too (its grant and limits are in the probe's rule).
    if (plan->capture) {
      if (absl::Status enabled =
              policy->CheckProbe(caller, ProbeRule<CapturePlan>::kName);
          !enabled.ok()) {
        return absl::Status(enabled.code(), absl::StrCat("capture: ", enabled.message()));
      }
    }
  }
  NETPROBE_RETURN_IF_ERROR(policy->CheckGrants(
      caller, absl::StrCat("the ", Rule::kName, " probe"), Rule::Used(*plan)));
  const v1::PolicyLimits limits = policy->LimitsFor(caller);
  if (absl::Status within = Rule::CheckLimits(limits, *plan); !within.ok()) return within;
  NETPROBE_ASSIGN_OR_RETURN(*slot, slots_->Take(caller.Key(), limits));
  if constexpr (requires { plan->admission; }) {
    plan->admission.policy = TargetPolicyFor(policy, caller);
    absl::MutexLock lock(&mu_);
    if (limits.has_packets_per_second_per_client()) {
      plan->admission.budgets.Add(
          budgets_.ForClient(caller.Key(), limits.packets_per_second_per_client()));
    }
    if (limits.has_packets_per_second_total()) {
      plan->admission.budgets.Add(budgets_.Total(limits.packets_per_second_total()));
    }
  }
  return plan;
}

template <typename Event, typename Batch, typename Plan, typename Make>
grpc::ServerWriteReactor<Batch>* ProbesService::Serve(
    const grpc::CallbackServerContext& context, absl::StatusOr<Plan> plan,
    size_t (*beyond_high_water)(const std::type_identity_t<Plan>&), Make make,
    std::shared_ptr<void> slot, std::optional<size_t> high_water,
    absl::Duration write_spacing) {
  using Reactor = StreamReactor<Event, Batch>;
  if (!plan.ok()) return Reactor::Rejected(loop_, plan.status());
  StreamLimits limits = queue_;
  limits.high_water = high_water.value_or(queue_.high_water);
  limits.min_write_spacing = write_spacing;
  limits.hard_limit =
      limits.high_water + (beyond_high_water ? beyond_high_water(*plan) : 0);
  auto bridge = std::make_shared<typename Reactor::Bridge>(loop_, limits);
  const ProbeRegistry::ProbeId id = registry_->NewId();
  auto* reactor =
      new Reactor(bridge, [registry = registry_, id] { registry->Cancel(id); });
  Launch(id, *std::move(plan), std::move(bridge), std::move(make), std::move(slot),
         StopAfterFor(context));
  return reactor;
}

template <typename Plan, typename Sink, typename Make>
void ProbesService::Launch(ProbeRegistry::ProbeId id, Plan plan,
                           std::shared_ptr<Sink> sink, Make make,
                           std::shared_ptr<void> slot, absl::Duration stop_after) {
  registry_->Launch(
      id,
      [sink = std::move(sink), make = std::move(make), plan = std::move(plan),
       slot = std::move(slot)](std::function<void()> done) {
        return make(plan, sink, [done = std::move(done), slot] { done(); });
      },
      stop_after);
}

BlockingWork ProbesService::WorkOf(const Caller& caller) const {
  return BlockingWork{blocking_, caller.Key()};
}

auto ProbesService::PingMaker(const Caller& caller) {
  return [this, work = WorkOf(caller)](const PingPlan& plan, auto sink,
                                       std::function<void()> done) {
    return std::make_unique<PingProbe>(plan, loop_, work, std::move(sink),
                                       std::move(done));
  };
}

auto ProbesService::TcpConnectMaker(const Caller& caller) {
  return [this, work = WorkOf(caller)](const TcpConnectPlan& plan, auto sink,
                                       std::function<void()> done) {
    return std::make_unique<TcpConnectProbe>(plan, loop_, work, std::move(sink),
                                             std::move(done));
  };
}

auto ProbesService::UdpEchoMaker(const Caller& caller) {
  return [this, work = WorkOf(caller)](const UdpEchoPlan& plan, auto sink,
                                       std::function<void()> done) {
    return std::make_unique<UdpEchoProbe>(plan, loop_, work, std::move(sink),
                                          std::move(done));
  };
}

auto ProbesService::ThroughputMaker(const Caller& caller) {
  return [this, work = WorkOf(caller)](const ThroughputPlan& plan, auto sink,
                                       std::function<void()> done) {
    return std::make_unique<ThroughputProbe>(plan, loop_, work, std::move(sink),
                                             std::move(done));
  };
}

auto ProbesService::TracerouteMaker(const Caller& caller) {
  return [this, work = WorkOf(caller)](const TraceroutePlan& plan, auto sink,
                                       std::function<void()> done) {
    return MakeTraceProbe(plan, loop_, work, std::move(sink), std::move(done));
  };
}

template <typename Plan, typename Sink, typename Make>
absl::StatusOr<ProbeRegistry::ProbeId> ProbesService::StartInProcess(
    const Caller& caller, absl::StatusOr<Plan> plan, std::shared_ptr<Sink> sink,
    Make make) {
  std::shared_ptr<void> slot;
  NETPROBE_ASSIGN_OR_RETURN(Plan admitted, Admit(caller, std::move(plan), &slot));
  const ProbeRegistry::ProbeId id = registry_->NewId();
  Launch(id, std::move(admitted), std::move(sink), std::move(make), std::move(slot));
  return id;
}

absl::StatusOr<ProbeRegistry::ProbeId> ProbesService::Start(
    const Caller& caller, const v1::PingRequest& request,
    std::shared_ptr<EventSink<v1::PingEvent>> sink) {
  return StartInProcess(caller, ValidatePing(request), std::move(sink),
                        PingMaker(caller));
}

absl::StatusOr<ProbeRegistry::ProbeId> ProbesService::Start(
    const Caller& caller, const v1::TcpConnectRequest& request,
    std::shared_ptr<EventSink<v1::TcpConnectEvent>> sink) {
  return StartInProcess(caller, ValidateTcpConnect(request), std::move(sink),
                        TcpConnectMaker(caller));
}

absl::StatusOr<ProbeRegistry::ProbeId> ProbesService::Start(
    const Caller& caller, const v1::UdpEchoRequest& request,
    std::shared_ptr<EventSink<v1::UdpEchoEvent>> sink) {
  return StartInProcess(caller, ValidateUdpEcho(request), std::move(sink),
                        UdpEchoMaker(caller));
}

absl::StatusOr<ProbeRegistry::ProbeId> ProbesService::Start(
    const Caller& caller, const v1::TracerouteRequest& request,
    std::shared_ptr<EventSink<v1::TracerouteEvent>> sink) {
  return StartInProcess(caller, ValidateTraceroute(request), std::move(sink),
                        TracerouteMaker(caller));
}

absl::StatusOr<ProbeRegistry::ProbeId> ProbesService::Start(
    const Caller& caller, const v1::ThroughputRequest& request,
    std::shared_ptr<EventSink<v1::ThroughputEvent>> sink) {
  return StartInProcess(caller, ValidateThroughput(request), std::move(sink),
                        ThroughputMaker(caller));
}

// See ProbesService::Ping.
constexpr absl::Duration kPingWriteSpacing = absl::Milliseconds(5);

grpc::ServerWriteReactor<v1::PingEvents>* ProbesService::Ping(
    grpc::CallbackServerContext* context, const v1::PingRequest* request) {
  std::shared_ptr<void> slot;
  const Caller caller = CallerOf(*context);
  auto plan = Admit(caller, ValidatePing(*request), &slot);
  // Two events per request (sent, answered): at thousands of requests a
  // second, a message every few milliseconds rather than one per loop round
  // (StreamLimits::min_write_spacing; a reply after a quiet spell goes at once).
  return Serve<v1::PingEvent, v1::PingEvents>(
      *context, std::move(plan), &PingProbe::MaxEventsBeyondHighWater, PingMaker(caller),
      std::move(slot), std::nullopt, kPingWriteSpacing);
}

grpc::ServerWriteReactor<v1::TcpConnectEvents>* ProbesService::TcpConnect(
    grpc::CallbackServerContext* context, const v1::TcpConnectRequest* request) {
  std::shared_ptr<void> slot;
  const Caller caller = CallerOf(*context);
  auto plan = Admit(caller, ValidateTcpConnect(*request), &slot);
  return Serve<v1::TcpConnectEvent, v1::TcpConnectEvents>(
      *context, std::move(plan), &TcpConnectProbe::MaxEventsBeyondHighWater,
      TcpConnectMaker(caller), std::move(slot));
}

grpc::ServerWriteReactor<v1::UdpEchoEvents>* ProbesService::UdpEcho(
    grpc::CallbackServerContext* context, const v1::UdpEchoRequest* request) {
  std::shared_ptr<void> slot;
  const Caller caller = CallerOf(*context);
  auto plan = Admit(caller, ValidateUdpEcho(*request), &slot);
  return Serve<v1::UdpEchoEvent, v1::UdpEchoEvents>(
      *context, std::move(plan), &UdpEchoProbe::MaxEventsBeyondHighWater,
      UdpEchoMaker(caller), std::move(slot));
}

// Broadcast and Multicast cannot pause: what arrives beyond the queue is
// dropped and counted by the bridge (Dropped events); their end events and
// summaries are closing events, queued in the bridge's reserved room.
grpc::ServerWriteReactor<v1::BroadcastEvents>* ProbesService::Broadcast(
    grpc::CallbackServerContext* context, const v1::BroadcastRequest* request) {
  std::shared_ptr<void> slot;
  const Caller caller = CallerOf(*context);
  auto plan = Admit(caller, ValidateBroadcast(*request), &slot);
  if (plan.ok()) {
    if (absl::Status allowed = plan->admission.CheckTarget(plan->destination, "target");
        !allowed.ok()) {
      plan = std::move(allowed);
    }
  }
  return Serve<v1::BroadcastEvent, v1::BroadcastEvents>(
      *context, std::move(plan), nullptr,
      [this](const BroadcastPlan& plan, auto sink, std::function<void()> done) {
        return std::make_unique<BroadcastProbe>(plan, loop_, std::move(sink),
                                                std::move(done));
      },
      std::move(slot));
}

grpc::ServerWriteReactor<v1::MulticastEvents>* ProbesService::Multicast(
    grpc::CallbackServerContext* context, const v1::MulticastRequest* request) {
  std::shared_ptr<void> slot;
  const Caller caller = CallerOf(*context);
  auto plan = Admit(caller, ValidateMulticast(*request), &slot);
  if (plan.ok() && plan->send) {
    if (absl::Status allowed = plan->admission.CheckTarget(plan->group, "group");
        !allowed.ok()) {
      plan = std::move(allowed);
    }
  }
  return Serve<v1::MulticastEvent, v1::MulticastEvents>(
      *context, std::move(plan), nullptr,
      [this](const MulticastPlan& plan, auto sink, std::function<void()> done) {
        return std::make_unique<MulticastProbe>(plan, loop_, std::move(sink),
                                                std::move(done));
      },
      std::move(slot));
}

void ProbesService::SetOwnTcpListeners(std::vector<std::string> listeners) {
  absl::MutexLock lock(&mu_);
  own_tcp_listeners_ = std::move(listeners);
}

// A capture's queue is counted in batches of packets (CaptureProbe bounds
// their size); the probe drops and counts packets rather than overfill it.
grpc::ServerWriteReactor<v1::CaptureEvents>* ProbesService::Capture(
    grpc::CallbackServerContext* context, const v1::CaptureRequest* request) {
  std::shared_ptr<void> slot;
  std::vector<std::string> own;
  {
    absl::MutexLock lock(&mu_);
    own = own_tcp_listeners_;
  }
  const Caller caller = CallerOf(*context);
  auto plan = Admit(caller, ValidateCapture(*request, own), &slot);
  return Serve<v1::CaptureEvent, v1::CaptureEvents>(
      *context, std::move(plan), &CaptureProbe::MaxEventsBeyondHighWater,
      [this, work = WorkOf(caller)](const CapturePlan& plan, auto sink,
                                    std::function<void()> done) {
        return std::make_unique<CaptureProbe>(plan, loop_, work, std::move(sink),
                                              std::move(done));
      },
      std::move(slot), CaptureProbe::kQueueBatches);
}

grpc::ServerWriteReactor<v1::SocketsEvents>* ProbesService::Sockets(
    grpc::CallbackServerContext* context, const v1::SocketsRequest* request) {
  std::shared_ptr<void> slot;
  const Caller caller = CallerOf(*context);
  auto plan = Admit(caller, ValidateSockets(*request), &slot);
  return Serve<v1::SocketsEvent, v1::SocketsEvents>(
      *context, std::move(plan), &SocketsProbe::MaxEventsBeyondHighWater,
      [this, work = WorkOf(caller)](const SocketsPlan& plan, auto sink,
                                    std::function<void()> done) {
        return std::make_unique<SocketsProbe>(plan, loop_, work, std::move(sink),
                                              std::move(done));
      },
      std::move(slot));
}

grpc::ServerWriteReactor<v1::TracerouteEvents>* ProbesService::Traceroute(
    grpc::CallbackServerContext* context, const v1::TracerouteRequest* request) {
  std::shared_ptr<void> slot;
  const Caller caller = CallerOf(*context);
  auto plan = Admit(caller, ValidateTraceroute(*request), &slot);
  return Serve<v1::TracerouteEvent, v1::TracerouteEvents>(
      *context, std::move(plan), &TraceMaxEventsBeyondHighWater, TracerouteMaker(caller),
      std::move(slot));
}

grpc::ServerWriteReactor<v1::ThroughputEvents>* ProbesService::Throughput(
    grpc::CallbackServerContext* context, const v1::ThroughputRequest* request) {
  std::shared_ptr<void> slot;
  const Caller caller = CallerOf(*context);
  auto plan = Admit(caller, ValidateThroughput(*request), &slot);
  return Serve<v1::ThroughputEvent, v1::ThroughputEvents>(
      *context, std::move(plan), &ThroughputProbe::MaxEventsBeyondHighWater,
      ThroughputMaker(caller), std::move(slot));
}

}  // namespace netprobe
