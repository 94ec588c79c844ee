#include "agent/probes/broadcast_request.h"

#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/probes/request_fields.h"
#include "agent/probes/socket_options.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

// The interface's directed broadcasts (one per IPv4 address that has one), in
// address order, without repeats.
std::vector<std::string> DirectedBroadcasts(const InterfaceInfo& info) {
  std::vector<std::string> out;
  for (const InterfaceAddressInfo& address : info.ipv4) {
    if (address.broadcast.empty()) continue;
    if (std::find(out.begin(), out.end(), address.broadcast) == out.end()) {
      out.push_back(address.broadcast);
    }
  }
  return out;
}

absl::StatusOr<const InterfaceInfo*> FindInterface(
    const std::string& name, const std::vector<InterfaceInfo>& interfaces) {
  if (name.empty()) {
    return absl::InvalidArgumentError(
        "interface: required (the interface to broadcast from, e.g. eth0)");
  }
  for (const InterfaceInfo& info : interfaces) {
    if (info.name == name) return &info;
  }
  std::vector<std::string> names;
  for (const InterfaceInfo& info : interfaces) {
    if (info.flags & IFF_BROADCAST) names.push_back(info.name);
  }
  return absl::NotFoundError(absl::StrCat(
      "interface: no interface ", Quoted(name), " on this host (broadcast-capable: ",
      names.empty() ? "none" : absl::StrJoin(names, ", "), ")"));
}

}  // namespace

absl::StatusOr<BroadcastPlan> ValidateBroadcast(
    const v1::BroadcastRequest& request, const std::vector<InterfaceInfo>& interfaces) {
  BroadcastPlan plan;
  NETPROBE_ASSIGN_OR_RETURN(const InterfaceInfo* info,
                            FindInterface(request.interface(), interfaces));
  plan.interface = info->name;
  if ((info->flags & IFF_BROADCAST) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "interface: '", info->name, "' cannot broadcast (no IFF_BROADCAST flag)"));
  }
  if (info->ipv4.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "interface: '", info->name, "' has no IPv4 address to broadcast from"));
  }

  if (request.port() < 1 || request.port() > 65535) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "port: %d is out of range: it must be from 1 to 65535", request.port()));
  }

  const std::vector<std::string> directed = DirectedBroadcasts(*info);
  std::vector<std::string> allowed = directed;
  allowed.push_back(BroadcastLimits::kLimitedBroadcast);
  std::string address = request.address();
  if (address.empty()) {
    if (directed.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("address: '", info->name,
                       "' has no directed broadcast address; give 255.255.255.255"));
    }
    address = directed.front();
  } else if (std::find(allowed.begin(), allowed.end(), address) == allowed.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("address: ", Quoted(address), " is not a broadcast address of ",
                     info->name, "; allowed: ", absl::StrJoin(allowed, ", ")));
  }
  std::optional<SocketAddress> destination =
      SocketAddress::FromLiteral(address, static_cast<uint16_t>(request.port()));
  if (!destination || destination->family() != AF_INET) {
    // Only reachable with a malformed broadcast from the interface list.
    return absl::InvalidArgumentError(
        absl::StrCat("address: '", address, "' is not an IPv4 address"));
  }
  plan.destination = *destination;

  if (request.payload().size() > BroadcastLimits::kMaxPayload) {
    return absl::InvalidArgumentError(
        absl::StrFormat("payload: %d bytes is above the maximum of %d",
                        request.payload().size(), BroadcastLimits::kMaxPayload));
  }
  const std::string& payload =
      request.payload().empty() ? BroadcastLimits::kDefaultPayload : request.payload();
  plan.payload.assign(payload.begin(), payload.end());

  if (request.has_window()) {
    NETPROBE_ASSIGN_OR_RETURN(plan.window, DurationInRange(request.window(), "window",
                                                           BroadcastLimits::kMinWindow,
                                                           BroadcastLimits::kMaxWindow));
  }

  const v1::SocketOptions& options = request.options();
  if (!options.interface().empty() && options.interface() != info->name) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.interface: ", Quoted(options.interface()), " conflicts with interface '",
        info->name, "'; leave it empty or give the same name"));
  }
  NETPROBE_RETURN_IF_ERROR(PrecheckSocketOptions(options));
  NETPROBE_ASSIGN_OR_RETURN(plan.setup, ValidateSocketOptions(options, /*tcp=*/false));
  if (plan.setup.source && plan.setup.source->family() != AF_INET) {
    return absl::InvalidArgumentError(
        "options.source_address: a broadcast is IPv4; give an IPv4 address");
  }
  plan.setup.interface = info->name;
  for (const InterfaceAddressInfo& local : info->ipv4) {
    plan.local_addresses.push_back(local.address);
  }
  return plan;
}

absl::StatusOr<BroadcastPlan> ValidateBroadcast(const v1::BroadcastRequest& request) {
  NETPROBE_ASSIGN_OR_RETURN(std::vector<InterfaceInfo> interfaces, ListInterfaces());
  return ValidateBroadcast(request, interfaces);
}

}  // namespace netprobe
