#ifndef NETPROBE_AGENT_SERVER_PROBES_SERVICE_H_
#define NETPROBE_AGENT_SERVER_PROBES_SERVICE_H_

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agent/net/event_loop.h"
#include "agent/net/resolver.h"
#include "agent/probes/probe_registry.h"
#include "agent/server/stream_bridge.h"
#include "netprobe/v1/agent.pb.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe {

// The Probes service: validates each request, launches its probe on the loop
// and streams the probe's events. Thread-safe.
class ProbesService final : public v1::Probes::CallbackService {
 public:
  ProbesService(EventLoop* loop, ProbeRegistry* registry, Resolver* resolver,
                size_t queue_capacity);

  // Which probes this build serves, for GetInfo.
  static std::vector<v1::ProbeSupport> Support();

  // The agent's bound TCP listen addresses ("127.0.0.1:7431"), whose traffic
  // captures exclude unless asked to include it.
  void SetOwnTcpListeners(std::vector<std::string> listeners);

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

 private:
  // Streams the events of the probe `make(plan, sink, done)` builds, or
  // rejects the call with the plan's validation error. `beyond_high_water`
  // bounds what the probe may emit after it paused; null for probes that
  // cannot pause (their excess is dropped and counted). `high_water`, in
  // events, defaults to the agent's stream queue capacity.
  template <typename Event, typename Batch, typename Plan, typename Make>
  grpc::ServerWriteReactor<Batch>* Serve(
      absl::StatusOr<Plan> plan,
      size_t (*beyond_high_water)(const std::type_identity_t<Plan>&), Make make,
      std::optional<size_t> high_water = std::nullopt);

  EventLoop* const loop_;
  ProbeRegistry* const registry_;
  Resolver* const resolver_;
  const size_t queue_capacity_;
  absl::Mutex mu_;
  std::vector<std::string> own_tcp_listeners_ ABSL_GUARDED_BY(mu_);
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_PROBES_SERVICE_H_
