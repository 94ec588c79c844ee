#ifndef NETPROBE_AGENT_SERVER_AGENT_SERVICE_H_
#define NETPROBE_AGENT_SERVER_AGENT_SERVICE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/iperf3/server.h"
#include "agent/policy/policy.h"
#include "agent/responders/udp_echo_responder.h"
#include "netprobe/v1/agent.grpc.pb.h"

namespace netprobe {

// What the agent knows about itself; the rest is read from the host per call.
struct AgentFacts {
  absl::Time start_time;
  std::vector<std::string> listen_addresses;
  std::vector<v1::ProbeSupport> probes;
  v1::TransportSecurity transport_security;
  // Owned by the server and alive as long as the service.
  std::vector<const UdpEchoResponder*> udp_echo;
  const iperf3::Server* iperf_server = nullptr;  // the same; null: none
  // The metrics endpoint's description; empty: none.
  std::string metrics;
  // The schedule in force, asked per call (it changes on reload); may be null.
  std::function<std::vector<v1::ScheduledProbeInfo>()> schedule;
};

// Fills `info` from the host as it is now (interfaces, capabilities, uname).
void DescribeAgent(const AgentFacts& facts, v1::AgentInfo* info);

// The Agent service. Thread-safe; GetInfo reads the host on each call (a few
// system calls on gRPC's callback thread, never on the probe loop).
class AgentService final : public v1::Agent::CallbackService {
 public:
  // `policy` (may be null) marks the probes it disables for the caller.
  explicit AgentService(AgentFacts facts, const PolicyHolder* policy = nullptr)
      : facts_(std::move(facts)), policy_(policy) {}

  // The addresses are known only once the server has bound them.
  void SetListenAddresses(std::vector<std::string> addresses);
  // Known once the metrics listener has bound.
  void SetMetrics(std::string description);

  grpc::ServerUnaryReactor* GetInfo(grpc::CallbackServerContext* context,
                                    const v1::GetInfoRequest* request,
                                    v1::AgentInfo* response) override;

 private:
  absl::Mutex mu_;
  AgentFacts facts_ ABSL_GUARDED_BY(mu_);
  const PolicyHolder* const policy_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_AGENT_SERVICE_H_
