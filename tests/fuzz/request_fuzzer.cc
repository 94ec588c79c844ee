// libFuzzer target for request validation: the bytes after the first are a
// serialized request of the kind the first byte picks (the Probes RPCs, or
// an AgentConfig), parsed as gRPC would parse it and validated as the agent
// validates it; a valid plan is then checked against a policy's limits. It
// must never crash, hang or allocate beyond what the input holds.
// Build and run: tests/fuzz/run_fuzzer.sh request_fuzzer SECONDS BUILD_DIR
// Seeds: tests/fuzz/corpus/request_fuzzer (tests/fuzz/make_request_seeds.sh).
#include <google/protobuf/stubs/logging.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "agent/net/interfaces.h"
#include "agent/net/socket_address.h"
#include "agent/policy/plan_limits.h"
#include "agent/policy/policy.h"
#include "agent/probes/broadcast_request.h"
#include "agent/probes/capture_request.h"
#include "agent/probes/multicast_request.h"
#include "agent/probes/ping_request.h"
#include "agent/probes/sockets_request.h"
#include "agent/probes/tcp_connect_request.h"
#include "agent/probes/throughput_request.h"
#include "agent/probes/traceroute_request.h"
#include "agent/probes/udp_echo_request.h"
#include "agent/schedule/schedule_config.h"
#include "netprobe/v1/config.pb.h"

namespace {

using namespace netprobe;  // NOLINT: a fuzz target's own file

// Every limit a policy can set, low enough that plans hit them.
const v1::PolicyLimits& TightLimits() {
  static const v1::PolicyLimits* const limits = [] {
    auto* l = new v1::PolicyLimits();
    l->set_targets_per_request(8);
    l->set_max_payload(512);
    l->mutable_max_duration()->set_seconds(60);
    l->mutable_min_interval()->set_nanos(100 * 1000 * 1000);
    l->set_capture_max_snaplen(128);
    l->mutable_capture_max_duration()->set_seconds(30);
    l->add_capture_interfaces("lo");
    return l;
  }();
  return *limits;
}

// A fixed host for Broadcast: one broadcast-capable interface, and lo.
const std::vector<InterfaceInfo>& Interfaces() {
  static const std::vector<InterfaceInfo>* const interfaces = [] {
    auto* list = new std::vector<InterfaceInfo>(2);
    (*list)[0].name = "lo";
    (*list)[0].index = 1;
    (*list)[0].flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    (*list)[0].ipv4 = {{"127.0.0.1", 8, ""}};
    (*list)[1].name = "eth0";
    (*list)[1].index = 2;
    (*list)[1].flags = IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST;
    (*list)[1].ipv4 = {{"198.18.0.10", 24, "198.18.0.255"}, {"198.18.9.1", 30, ""}};
    return list;
  }();
  return *interfaces;
}

template <typename Request>
bool Parse(const uint8_t* data, size_t size, Request* request) {
  return request->ParseFromArray(data, static_cast<int>(size));
}

template <typename Plan>
void Limit(const absl::StatusOr<Plan>& plan, const v1::PolicyLimits& limits) {
  if (plan.ok()) (void)CheckPlanLimits(limits, *plan);
}

// The schedule and the policy of a config file, and each scheduled request
// against the policy's limits for an identity its rules may name.
void Config(const uint8_t* data, size_t size) {
  v1::AgentConfig config;
  if (!Parse(data, size, &config)) return;
  absl::StatusOr<ScheduleConfig> schedule = ValidateSchedule(config);
  absl::StatusOr<std::shared_ptr<const Policy>> policy = Policy::Build(config.policy());
  if (!policy.ok()) return;
  const Caller caller{.identity = "token:fuzz", .peer = "unix:"};
  (void)(*policy)->CheckProbe(caller, "Capture");
  const v1::PolicyLimits limits = (*policy)->LimitsFor(caller);
  for (const char* literal : {"127.0.0.1", "169.254.169.254", "2001:db8::1"}) {
    (void)(*policy)->CheckTarget(*SocketAddress::FromLiteral(literal), "target");
  }
  if (!schedule.ok()) return;
  for (const ScheduledProbeSpec& spec : schedule->probes) {
    if (const auto* ping = std::get_if<v1::PingRequest>(&spec.request)) {
      Limit(ValidatePing(*ping), limits);
    } else if (const auto* tcp = std::get_if<v1::TcpConnectRequest>(&spec.request)) {
      Limit(ValidateTcpConnect(*tcp), limits);
    } else if (const auto* udp = std::get_if<v1::UdpEchoRequest>(&spec.request)) {
      Limit(ValidateUdpEcho(*udp), limits);
    } else if (const auto* trace = std::get_if<v1::TracerouteRequest>(&spec.request)) {
      Limit(ValidateTraceroute(*trace), limits);
    } else {
      Limit(ValidateThroughput(std::get<v1::ThroughputRequest>(spec.request)), limits);
    }
  }
  (void)CheckSchedulePolicy(*schedule, **policy);
}

}  // namespace

// Protobuf logs every string field that is not UTF-8 (the parse fails, as
// the agent's would): nothing to see in a fuzz run.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t* body = data + 1;
  const size_t length = size - 1;
  const v1::PolicyLimits none;
  // The high bit picks the limits a valid plan is checked against.
  const v1::PolicyLimits& limits = (data[0] & 0x80) != 0 ? TightLimits() : none;
  switch ((data[0] & 0x7f) % 10) {
    case 0: {
      v1::PingRequest request;
      if (Parse(body, length, &request)) Limit(ValidatePing(request), limits);
      break;
    }
    case 1: {
      v1::TcpConnectRequest request;
      if (Parse(body, length, &request)) Limit(ValidateTcpConnect(request), limits);
      break;
    }
    case 2: {
      v1::UdpEchoRequest request;
      if (Parse(body, length, &request)) Limit(ValidateUdpEcho(request), limits);
      break;
    }
    case 3: {
      v1::BroadcastRequest request;
      if (Parse(body, length, &request)) {
        Limit(ValidateBroadcast(request, Interfaces()), limits);
      }
      break;
    }
    case 4: {
      v1::MulticastRequest request;
      if (Parse(body, length, &request)) Limit(ValidateMulticast(request), limits);
      break;
    }
    case 5: {
      v1::CaptureRequest request;
      if (Parse(body, length, &request)) {
        Limit(ValidateCapture(request, {"127.0.0.1:7431", "[::]:7431", "web:80", "junk"}),
              limits);
      }
      break;
    }
    case 6: {
      v1::SocketsRequest request;
      if (!Parse(body, length, &request)) break;
      absl::StatusOr<SocketsPlan> plan = ValidateSockets(request);
      if (plan.ok()) {
        sock_diag::Socket socket;
        socket.family = AF_INET6;
        socket.local.port = 22;
        (void)plan->Matches(socket);
      }
      break;
    }
    case 7:
      Config(body, length);
      break;
    case 8: {
      v1::TracerouteRequest request;
      if (!Parse(body, length, &request)) break;
      absl::StatusOr<TraceroutePlan> plan = ValidateTraceroute(request);
      if (plan.ok()) {
        for (int family : {AF_INET, AF_INET6}) (void)plan->PayloadSize(family);
      }
      Limit(plan, limits);
      break;
    }
    case 9: {
      v1::ThroughputRequest request;
      if (Parse(body, length, &request)) Limit(ValidateThroughput(request), limits);
      break;
    }
    default:
      break;
  }
  return 0;
}
