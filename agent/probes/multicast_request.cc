#include "agent/probes/multicast_request.h"

#include <net/if.h>
#include <netinet/in.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/probes/request_fields.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

const in6_addr& V6(const SocketAddress& a) {
  return reinterpret_cast<const sockaddr_in6*>(a.get())->sin6_addr;
}

uint32_t V4(const SocketAddress& a) {
  return ntohl(reinterpret_cast<const sockaddr_in*>(a.get())->sin_addr.s_addr);
}

bool IsMulticast(const SocketAddress& a) {
  return a.family() == AF_INET6 ? IN6_IS_ADDR_MULTICAST(&V6(a))
                                : (V4(a) >> 28) == 0xe;  // 224.0.0.0/4
}

bool IsUnicast(const SocketAddress& a) {
  if (a.family() == AF_INET6) {
    return !IN6_IS_ADDR_MULTICAST(&V6(a)) && !IN6_IS_ADDR_UNSPECIFIED(&V6(a));
  }
  const uint32_t ip = V4(a);
  return (ip >> 28) != 0xe && ip != 0 && ip != 0xffffffffu;
}

// A literal without a "%scope" suffix, or nullopt.
std::optional<SocketAddress> PlainLiteral(const std::string& text) {
  if (text.find('%') != std::string::npos) return std::nullopt;
  return SocketAddress::FromLiteral(text);
}

absl::Status ValidateSend(const v1::MulticastRequest& request, MulticastPlan* plan) {
  if (!request.send()) {
    const char* stray = !request.send_payload().empty() ? "send_payload"
                        : request.has_send_interval()   ? "send_interval"
                        : request.send_ttl() != 0       ? "send_ttl"
                        : request.loopback()            ? "loopback"
                                                        : nullptr;
    if (stray != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(stray, ": applies only when send is set"));
    }
    return absl::OkStatus();
  }
  plan->send = true;
  if (request.send_payload().size() > MulticastLimits::kMaxPayload) {
    return absl::InvalidArgumentError(
        absl::StrFormat("send_payload: %d bytes is above the maximum of %d",
                        request.send_payload().size(), MulticastLimits::kMaxPayload));
  }
  plan->send_payload = request.send_payload();
  if (request.has_send_interval()) {
    NETPROBE_ASSIGN_OR_RETURN(plan->send_interval,
                              DurationInRange(request.send_interval(), "send_interval",
                                              MulticastLimits::kMinSendInterval,
                                              MulticastLimits::kMaxSendInterval));
  }
  if (request.send_ttl() > 255) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "send_ttl: %d is out of range: it must be from 1 to 255 (0: the default, 1)",
        request.send_ttl()));
  }
  if (request.send_ttl() != 0) plan->send_ttl = static_cast<int>(request.send_ttl());
  plan->loopback = request.loopback();
  plan->report_sends = request.report_sends();
  return absl::OkStatus();
}

}  // namespace

bool NeedsInterfaceScope(const SocketAddress& group) {
  if (group.family() != AF_INET6) return false;
  const in6_addr& a = V6(group);
  return IN6_IS_ADDR_MC_NODELOCAL(&a) || IN6_IS_ADDR_MC_LINKLOCAL(&a);
}

absl::StatusOr<MulticastPlan> ValidateMulticast(const v1::MulticastRequest& request) {
  MulticastPlan plan;
  if (request.group().empty()) {
    return absl::InvalidArgumentError("group: a multicast group address is needed");
  }
  if (request.group().find('%') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("group: ", Quoted(request.group()),
                     ": give the interface in `interface`, not as a scope"));
  }
  std::optional<SocketAddress> group = PlainLiteral(request.group());
  if (!group) {
    return absl::InvalidArgumentError(
        absl::StrCat("group: ", Quoted(request.group()),
                     " is not an IP address literal (names are not accepted)"));
  }
  if (!IsMulticast(*group)) {
    return absl::InvalidArgumentError(
        absl::StrCat("group: ", group->ip(),
                     " is not a multicast address (IPv4 224.0.0.0/4, IPv6 ff00::/8)"));
  }
  if (request.port() < 1 || request.port() > 65535) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "port: %d is out of range: it must be from 1 to 65535", request.port()));
  }
  group->set_port(static_cast<uint16_t>(request.port()));
  if (!request.interface().empty()) {
    const unsigned index = request.interface().size() < IFNAMSIZ
                               ? if_nametoindex(request.interface().c_str())
                               : 0;
    if (index == 0) {
      return absl::NotFoundError(absl::StrCat(
          "interface: no interface ", Quoted(request.interface()), " on this host"));
    }
    plan.interface = request.interface();
    plan.interface_index = index;
  }
  if (NeedsInterfaceScope(*group)) {
    if (plan.interface_index == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("interface: the group ", group->ip(),
                       " has interface- or link-local scope and needs an interface"));
    }
    reinterpret_cast<sockaddr_in6*>(group->mutable_get())->sin6_scope_id =
        plan.interface_index;
  }
  plan.group = *group;
  if (!request.source().empty()) {
    std::optional<SocketAddress> source = PlainLiteral(request.source());
    if (!source) {
      return absl::InvalidArgumentError(
          absl::StrCat("source: ", Quoted(request.source()),
                       " is not an IP address literal (names are not accepted)"));
    }
    if (source->family() != group->family()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "source: ", source->ip(), " is not of the family of the group ", group->ip()));
    }
    if (!IsUnicast(*source)) {
      return absl::InvalidArgumentError(
          absl::StrCat("source: ", source->ip(),
                       " is not a unicast address (SSM needs the sender's)"));
    }
    plan.source = *source;
  }
  if (request.count() > MulticastLimits::kMaxCount) {
    return absl::InvalidArgumentError(
        absl::StrFormat("count: %d is above the limit of %d (0: no count limit)",
                        request.count(), MulticastLimits::kMaxCount));
  }
  plan.count = request.count();
  if (request.has_duration()) {
    NETPROBE_ASSIGN_OR_RETURN(
        plan.duration,
        DurationInRange(request.duration(), "duration", absl::ZeroDuration(),
                        MulticastLimits::kMaxDuration, " (none)"));
  }
  if (request.has_max_payload()) {
    if (request.max_payload() > MulticastLimits::kMaxPayload) {
      return absl::InvalidArgumentError(
          absl::StrFormat("max_payload: %d bytes is above the maximum of %d",
                          request.max_payload(), MulticastLimits::kMaxPayload));
    }
    plan.max_payload = request.max_payload();
  }
  NETPROBE_RETURN_IF_ERROR(ValidateSend(request, &plan));
  return plan;
}

}  // namespace netprobe
