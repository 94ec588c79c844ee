#include "client/output/info_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/output/label_text.h"
#include "common/proto_time.h"

namespace netprobe::client {

std::string FormatUptime(int64_t seconds) {
  const int64_t days = seconds / 86400, hours = seconds / 3600 % 24,
                minutes = seconds / 60 % 60, secs = seconds % 60;
  if (days > 0) return absl::StrFormat("%dd%dh%dm", days, hours, minutes);
  if (hours > 0) return absl::StrFormat("%dh%dm%ds", hours, minutes, secs);
  if (minutes > 0) return absl::StrFormat("%dm%ds", minutes, secs);
  return absl::StrFormat("%ds", secs);
}

std::string FormatAgentInfo(const v1::AgentInfo& info) {
  std::string out;
  // The uptime is the agent's (since its start), not the host's.
  absl::StrAppendFormat(
      &out, "agent      netprobe-agent %s (gRPC %s), pid %d, uid %d%s, up %s\n",
      info.version(), info.grpc_version(), info.pid(), info.uid(),
      info.user().empty() ? "" : absl::StrCat(" (", info.user(), ")"),
      FormatUptime(info.uptime().seconds()));
  absl::StrAppendFormat(&out, "host       %s, %s\n", info.hostname(), info.kernel());
  absl::StrAppendFormat(&out, "listening  %s\n",
                        absl::StrJoin(info.listen_addresses(), " "));
  if (info.has_transport_security()) {  // agents before issue 8 send none
    const v1::TransportSecurity& security = info.transport_security();
    std::string tcp = !security.tls()                  ? "plaintext"
                      : security.client_certificates() ? "mutual TLS"
                                                       : "TLS";
    if (security.tokens()) absl::StrAppend(&tcp, ", bearer tokens");
    absl::StrAppendFormat(&out, "security   tcp: %s; unix: callers by uid\n", tcp);
  }
  for (const v1::UdpEchoResponder& echo : info.udp_echo_responders()) {
    absl::StrAppendFormat(&out,
                          "udp echo   %s: %d received, %d echoed, %d send failed, "
                          "%d ignored (source port < 1024), %d kernel drops\n",
                          echo.address(), echo.received(), echo.echoed(),
                          echo.send_failed(), echo.ignored_privileged_source(),
                          echo.kernel_drops());
  }
  if (info.has_iperf_server()) {
    const v1::IperfServerInfo& iperf = info.iperf_server();
    std::vector<std::string> refused;
    for (const char* reason :
         {"busy", "client_not_allowed", "over_limits", "bad_params", "timeout"}) {
      auto it = iperf.refused().find(reason);
      if (it != iperf.refused().end() && it->second > 0) {
        refused.push_back(absl::StrCat(reason, " ", it->second));
      }
    }
    absl::StrAppendFormat(
        &out,
        "iperf3     %s: %d tests (%d completed, %d running), refused: %s; at most %d at "
        "once, %s each, clients %s\n",
        iperf.address(), iperf.tests_started(), iperf.tests_completed(),
        iperf.active_tests(), refused.empty() ? "none" : absl::StrJoin(refused, ", "),
        iperf.max_tests(), absl::FormatDuration(FromProto(iperf.max_duration())),
        iperf.allow().empty() ? "all" : absl::StrJoin(iperf.allow(), " "));
  }
  absl::StrAppendFormat(
      &out, "metrics    %s\n",
      info.metrics().empty() ? "(none: no --metrics-listen)" : info.metrics());
  if (info.schedule().empty()) absl::StrAppend(&out, "schedule   (none)\n");
  for (const v1::ScheduledProbeInfo& probe : info.schedule()) {
    absl::StrAppendFormat(&out, "schedule   %s: %s every %s to %s", probe.name(),
                          probe.kind(), absl::FormatDuration(FromProto(probe.interval())),
                          absl::StrJoin(probe.targets(), " "));
    // A mesh's names and how many peers they expanded to last.
    if (probe.kind() == "Mesh") {
      absl::StrAppend(&out, " (", probe.peers_size(),
                      probe.peers_size() == 1 ? " peer)" : " peers)");
    }
    if (!probe.labels().empty())
      absl::StrAppend(&out, " ", FormatLabelSet(probe.labels()));
    absl::StrAppend(&out, "\n");
  }
  absl::StrAppendFormat(
      &out, "caps       %s\n",
      info.capabilities().empty() ? "(none)" : absl::StrJoin(info.capabilities(), " "));
  std::vector<std::string> served, disabled, unserved;
  for (const v1::ProbeSupport& probe : info.probes()) {
    if (!probe.implemented()) {
      unserved.push_back(probe.name());
    } else if (!probe.unavailable_reason().empty()) {
      disabled.push_back(probe.name());
    } else {
      served.push_back(probe.name());
    }
  }
  absl::StrAppendFormat(&out, "probes     %s\n",
                        served.empty() ? "(none)" : absl::StrJoin(served, " "));
  if (!disabled.empty()) {
    absl::StrAppendFormat(&out, "off        %s (the agent's policy)\n",
                          absl::StrJoin(disabled, " "));
  }
  if (!unserved.empty()) {
    absl::StrAppendFormat(&out, "not yet    %s\n", absl::StrJoin(unserved, " "));
  }
  absl::StrAppend(&out, "interfaces\n");
  for (const v1::NetworkInterface& itf : info.interfaces()) {
    absl::StrAppendFormat(&out, "  %d: %s <%s> mtu %d", itf.index(), itf.name(),
                          absl::StrJoin(itf.flags(), ","), itf.mtu());
    if (!itf.mac().empty()) absl::StrAppend(&out, " link/ether ", itf.mac());
    absl::StrAppend(&out, "\n");
    for (const v1::InterfaceAddress& a : itf.ipv4()) {
      absl::StrAppendFormat(&out, "      inet %s/%d", a.address(), a.prefix_length());
      if (!a.broadcast().empty()) absl::StrAppend(&out, " brd ", a.broadcast());
      absl::StrAppend(&out, "\n");
    }
    for (const v1::InterfaceAddress& a : itf.ipv6()) {
      absl::StrAppendFormat(&out, "      inet6 %s/%d\n", a.address(), a.prefix_length());
    }
  }
  return out;
}

}  // namespace netprobe::client
