#include "agent/probes/capture_request.h"

#include <net/if.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/net/socket_address.h"
#include "agent/probes/request_fields.h"
#include "common/posix_error.h"

namespace netprobe {

std::string OwnTrafficExclusion(const std::vector<std::string>& own_tcp_listeners) {
  std::vector<std::string> terms;
  for (const std::string& listener : own_tcp_listeners) {
    auto parsed = ParseHostPort(listener, "listen");
    if (!parsed.ok()) continue;
    // A name would make pcap_compile resolve it: exclude the port alone.
    const bool any = parsed->host == "0.0.0.0" || parsed->host == "::" ||
                     !SocketAddress::FromLiteral(parsed->host).has_value();
    terms.push_back(any ? absl::StrCat("tcp port ", parsed->port)
                        : absl::StrCat("(tcp and host ", parsed->host, " and port ",
                                       parsed->port, ")"));
  }
  if (terms.empty()) return "";
  return absl::StrCat("not (", absl::StrJoin(terms, " or "), ")");
}

absl::StatusOr<CapturePlan> ValidateCapture(
    const v1::CaptureRequest& request,
    const std::vector<std::string>& own_tcp_listeners) {
  CapturePlan plan;
  if (!request.interface().empty()) plan.interface = request.interface();
  if (plan.interface != "any" && (plan.interface.size() >= IFNAMSIZ ||
                                  if_nametoindex(plan.interface.c_str()) == 0)) {
    return absl::NotFoundError(absl::StrCat("interface: no interface ",
                                            Quoted(plan.interface),
                                            " on this host (or \"any\")"));
  }
  if (request.filter().size() > CaptureLimits::kMaxFilterLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("filter: %d characters exceed the limit of %d",
                        request.filter().size(), CaptureLimits::kMaxFilterLength));
  }
  plan.filter = request.filter();
  if (request.has_snaplen()) {
    if (request.snaplen() < 1 || request.snaplen() > CaptureLimits::kMaxSnaplen) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "snaplen: %d is out of range 1..%d (leave it unset for the maximum)",
          request.snaplen(), CaptureLimits::kMaxSnaplen));
    }
    plan.snaplen = static_cast<int>(request.snaplen());
  }
  plan.promiscuous = request.promiscuous();
  if (request.max_packets() > CaptureLimits::kMaxPackets) {
    return absl::InvalidArgumentError(
        absl::StrFormat("max_packets: %d is above the agent's limit of %d",
                        request.max_packets(), CaptureLimits::kMaxPackets));
  }
  if (request.max_packets() != 0) plan.max_packets = request.max_packets();
  if (request.max_bytes() > CaptureLimits::kMaxBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("max_bytes: %d is above the agent's limit of %d",
                        request.max_bytes(), CaptureLimits::kMaxBytes));
  }
  if (request.max_bytes() != 0) plan.max_bytes = request.max_bytes();
  if (request.has_duration()) {
    NETPROBE_ASSIGN_OR_RETURN(
        absl::Duration duration,
        DurationInRange(request.duration(), "duration", absl::ZeroDuration(),
                        CaptureLimits::kMaxDuration));
    if (duration > absl::ZeroDuration()) plan.duration = duration;
  }
  plan.include_own_traffic = request.include_own_traffic();
  plan.packed_records = request.packed_records();
  const std::string exclusion =
      request.include_own_traffic() ? "" : OwnTrafficExclusion(own_tcp_listeners);
  if (plan.filter.empty()) {
    plan.effective_filter = exclusion;
  } else if (exclusion.empty()) {
    plan.effective_filter = plan.filter;
  } else {
    plan.effective_filter = absl::StrCat("(", plan.filter, ") and ", exclusion);
  }
  return plan;
}

}  // namespace netprobe
