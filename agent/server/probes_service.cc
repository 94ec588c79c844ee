#include "agent/server/probes_service.h"

#include "absl/strings/str_cat.h"
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
#include "agent/probes/udp_echo_probe.h"
#include "agent/probes/udp_echo_request.h"
#include "agent/server/stream_reactor.h"

namespace netprobe {
namespace {

constexpr const char* kServed[] = {"Ping",      "TcpConnect", "UdpEcho", "Broadcast",
                                   "Multicast", "Capture",    "Sockets"};

}  // namespace

ProbesService::ProbesService(EventLoop* loop, ProbeRegistry* registry, Resolver* resolver,
                             size_t queue_capacity)
    : loop_(loop),
      registry_(registry),
      resolver_(resolver),
      queue_capacity_(queue_capacity) {
  // probes.proto defines only the service, so nothing else pulls its generated
  // object into a static link and reflection could not describe Probes. A
  // volatile read of its descriptor table's address keeps it linked.
  static const void* volatile keep = &descriptor_table_netprobe_2fv1_2fprobes_2eproto;
  (void)keep;
}

std::vector<v1::ProbeSupport> ProbesService::Support() {
  std::vector<v1::ProbeSupport> out;
  for (const char* name : kServed) {
    v1::ProbeSupport support;
    support.set_name(name);
    support.set_implemented(true);
    out.push_back(std::move(support));
  }
  return out;
}

template <typename Event, typename Batch, typename Plan, typename Make>
grpc::ServerWriteReactor<Batch>* ProbesService::Serve(
    absl::StatusOr<Plan> plan,
    size_t (*beyond_high_water)(const std::type_identity_t<Plan>&), Make make,
    std::optional<size_t> high_water) {
  using Reactor = StreamReactor<Event, Batch>;
  if (!plan.ok()) return Reactor::Rejected(loop_, plan.status());
  StreamLimits limits;
  limits.high_water = high_water.value_or(queue_capacity_);
  limits.hard_limit =
      limits.high_water + (beyond_high_water ? beyond_high_water(*plan) : 0);
  auto bridge = std::make_shared<typename Reactor::Bridge>(loop_, limits);
  const ProbeRegistry::ProbeId id = registry_->NewId();
  auto* reactor =
      new Reactor(bridge, [registry = registry_, id] { registry->Cancel(id); });
  registry_->Launch(id, [bridge, make = std::move(make),
                         plan = *std::move(plan)](std::function<void()> done) {
    return make(plan, bridge, std::move(done));
  });
  return reactor;
}

grpc::ServerWriteReactor<v1::PingEvents>* ProbesService::Ping(
    grpc::CallbackServerContext*, const v1::PingRequest* request) {
  return Serve<v1::PingEvent, v1::PingEvents>(
      ValidatePing(*request), &PingProbe::MaxEventsBeyondHighWater,
      [this](const PingPlan& plan, auto sink, std::function<void()> done) {
        return std::make_unique<PingProbe>(plan, loop_, resolver_, std::move(sink),
                                           std::move(done));
      });
}

grpc::ServerWriteReactor<v1::TcpConnectEvents>* ProbesService::TcpConnect(
    grpc::CallbackServerContext*, const v1::TcpConnectRequest* request) {
  return Serve<v1::TcpConnectEvent, v1::TcpConnectEvents>(
      ValidateTcpConnect(*request), &TcpConnectProbe::MaxEventsBeyondHighWater,
      [this](const TcpConnectPlan& plan, auto sink, std::function<void()> done) {
        return std::make_unique<TcpConnectProbe>(plan, loop_, resolver_, std::move(sink),
                                                 std::move(done));
      });
}

grpc::ServerWriteReactor<v1::UdpEchoEvents>* ProbesService::UdpEcho(
    grpc::CallbackServerContext*, const v1::UdpEchoRequest* request) {
  return Serve<v1::UdpEchoEvent, v1::UdpEchoEvents>(
      ValidateUdpEcho(*request), &UdpEchoProbe::MaxEventsBeyondHighWater,
      [this](const UdpEchoPlan& plan, auto sink, std::function<void()> done) {
        return std::make_unique<UdpEchoProbe>(plan, loop_, resolver_, std::move(sink),
                                              std::move(done));
      });
}

// Broadcast and Multicast cannot pause: what arrives beyond the queue is
// dropped and counted by the bridge (Dropped events); the probes wait for room
// for their summaries.
grpc::ServerWriteReactor<v1::BroadcastEvents>* ProbesService::Broadcast(
    grpc::CallbackServerContext*, const v1::BroadcastRequest* request) {
  return Serve<v1::BroadcastEvent, v1::BroadcastEvents>(
      ValidateBroadcast(*request), nullptr,
      [this](const BroadcastPlan& plan, auto sink, std::function<void()> done) {
        return std::make_unique<BroadcastProbe>(plan, loop_, std::move(sink),
                                                std::move(done));
      });
}

grpc::ServerWriteReactor<v1::MulticastEvents>* ProbesService::Multicast(
    grpc::CallbackServerContext*, const v1::MulticastRequest* request) {
  return Serve<v1::MulticastEvent, v1::MulticastEvents>(
      ValidateMulticast(*request), nullptr,
      [this](const MulticastPlan& plan, auto sink, std::function<void()> done) {
        return std::make_unique<MulticastProbe>(plan, loop_, std::move(sink),
                                                std::move(done));
      });
}

void ProbesService::SetOwnTcpListeners(std::vector<std::string> listeners) {
  absl::MutexLock lock(&mu_);
  own_tcp_listeners_ = std::move(listeners);
}

// A capture's queue is counted in batches of packets (CaptureProbe bounds
// their size); the probe drops and counts packets rather than overfill it.
grpc::ServerWriteReactor<v1::CaptureEvents>* ProbesService::Capture(
    grpc::CallbackServerContext*, const v1::CaptureRequest* request) {
  std::vector<std::string> own;
  {
    absl::MutexLock lock(&mu_);
    own = own_tcp_listeners_;
  }
  return Serve<v1::CaptureEvent, v1::CaptureEvents>(
      ValidateCapture(*request, own), &CaptureProbe::MaxEventsBeyondHighWater,
      [this](const CapturePlan& plan, auto sink, std::function<void()> done) {
        return std::make_unique<CaptureProbe>(plan, loop_, resolver_, std::move(sink),
                                              std::move(done));
      },
      CaptureProbe::kQueueBatches);
}

grpc::ServerWriteReactor<v1::SocketsEvents>* ProbesService::Sockets(
    grpc::CallbackServerContext*, const v1::SocketsRequest* request) {
  return Serve<v1::SocketsEvent, v1::SocketsEvents>(
      ValidateSockets(*request), &SocketsProbe::MaxEventsBeyondHighWater,
      [this](const SocketsPlan& plan, auto sink, std::function<void()> done) {
        return std::make_unique<SocketsProbe>(plan, loop_, resolver_, std::move(sink),
                                              std::move(done));
      });
}

}  // namespace netprobe
