#include "agent/server/agent_service.h"

#include <grpcpp/grpcpp.h>
#include <pwd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agent/net/capabilities.h"
#include "agent/net/interfaces.h"
#include "agent/server/caller.h"
#include "agent/server/grpc_status.h"
#include "agent/server/version.h"

namespace netprobe {
namespace {

void FillInterfaces(v1::AgentInfo* info) {
  auto interfaces = ListInterfaces();
  if (!interfaces.ok()) return;  // Reported as an empty list; the rest is useful.
  for (const InterfaceInfo& src : *interfaces) {
    v1::NetworkInterface* dst = info->add_interfaces();
    dst->set_name(src.name);
    dst->set_index(src.index);
    for (const std::string& flag : InterfaceFlagNames(src.flags)) dst->add_flags(flag);
    dst->set_mtu(src.mtu);
    dst->set_mac(src.mac);
    for (const auto& [list, out] :
         {std::pair{&src.ipv4, dst->mutable_ipv4()}, {&src.ipv6, dst->mutable_ipv6()}}) {
      for (const InterfaceAddressInfo& a : *list) {
        v1::InterfaceAddress* addr = out->Add();
        addr->set_address(a.address);
        addr->set_prefix_length(a.prefix_length);
        addr->set_broadcast(a.broadcast);
      }
    }
  }
}

}  // namespace

void DescribeAgent(const AgentFacts& facts, v1::AgentInfo* info) {
  info->set_version(kNetprobeVersion);
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) info->set_hostname(host);
  utsname uts;
  if (uname(&uts) == 0) {
    info->set_kernel(absl::StrCat(uts.sysname, " ", uts.release, " ", uts.machine));
  }
  const absl::Time now = absl::Now();
  const absl::Duration uptime = now - facts.start_time;
  info->mutable_uptime()->set_seconds(absl::ToInt64Seconds(uptime));
  info->mutable_uptime()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(uptime % absl::Seconds(1))));
  const timespec start = absl::ToTimespec(facts.start_time);
  info->mutable_start_time()->set_seconds(start.tv_sec);
  info->mutable_start_time()->set_nanos(static_cast<int32_t>(start.tv_nsec));
  FillInterfaces(info);
  for (const std::string& cap : EffectiveNetCapabilities()) info->add_capabilities(cap);
  for (const v1::ProbeSupport& probe : facts.probes) *info->add_probes() = probe;
  info->set_pid(getpid());
  info->set_uid(getuid());
  passwd pw, *found = nullptr;
  char buffer[4096];
  if (getpwuid_r(getuid(), &pw, buffer, sizeof(buffer), &found) == 0 && found) {
    info->set_user(pw.pw_name);
  }
  for (const std::string& addr : facts.listen_addresses) info->add_listen_addresses(addr);
  *info->mutable_transport_security() = facts.transport_security;
  for (const UdpEchoResponder* responder : facts.udp_echo) {
    responder->Describe(info->add_udp_echo_responders());
  }
  if (const iperf3::Server* iperf = facts.iperf_server) {
    v1::IperfServerInfo* out = info->mutable_iperf_server();
    out->set_address(iperf->bound().ToString());
    out->set_port(iperf->bound().port());
    out->set_max_tests(iperf->options().max_concurrent_tests);
    const absl::Duration max = iperf->options().limits.max_duration;
    out->mutable_max_duration()->set_seconds(absl::ToInt64Seconds(max));
    for (const Cidr& cidr : iperf->options().allowed_clients)
      out->add_allow(cidr.ToString());
    out->set_tests_started(iperf->tests_started());
    out->set_tests_completed(iperf->tests_completed());
    out->set_active_tests(static_cast<uint32_t>(std::max(0, iperf->active_tests())));
    for (int i = 0; i < iperf3::kRefusalCount; ++i) {
      const auto reason = static_cast<iperf3::Refusal>(i);
      (*out->mutable_refused())[std::string(iperf3::RefusalName(reason))] =
          iperf->refused(reason);
    }
  }
  info->set_grpc_version(grpc::Version());
  info->set_metrics(facts.metrics);
  if (facts.schedule) {
    for (v1::ScheduledProbeInfo& probe : facts.schedule()) {
      *info->add_schedule() = std::move(probe);
    }
  }
}

void AgentService::SetMetrics(std::string description) {
  absl::MutexLock lock(&mu_);
  facts_.metrics = std::move(description);
}

void AgentService::SetListenAddresses(std::vector<std::string> addresses) {
  absl::MutexLock lock(&mu_);
  facts_.listen_addresses = std::move(addresses);
}

grpc::ServerUnaryReactor* AgentService::GetInfo(grpc::CallbackServerContext* context,
                                                const v1::GetInfoRequest* request,
                                                v1::AgentInfo* response) {
  AgentFacts facts;
  {
    absl::MutexLock lock(&mu_);
    facts = facts_;
  }
  DescribeAgent(facts, response);
  if (policy_ != nullptr) {
    // Served, but not for this caller under the policy in force now.
    const std::shared_ptr<const Policy> policy = policy_->Get();
    const Caller caller = CallerOf(*context);
    for (v1::ProbeSupport& probe : *response->mutable_probes()) {
      if (probe.implemented() && !policy->CheckProbe(caller, probe.name()).ok()) {
        probe.set_unavailable_reason("disabled by the agent's policy");
      }
    }
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace netprobe
