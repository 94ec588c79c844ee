#ifndef NETPROBE_AGENT_PROBES_TRACEROUTE_REQUEST_H_
#define NETPROBE_AGENT_PROBES_TRACEROUTE_REQUEST_H_

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/net/raw_tcp_socket.h"
#include "agent/net/socket_setup.h"
#include "agent/probes/admission.h"
#include "agent/probes/probe_capture_request.h"
#include "netprobe/v1/traceroute.pb.h"

namespace netprobe {

// Limits of one Traceroute request (stated in the README).
struct TracerouteLimits {
  static constexpr uint32_t kMaxTtl = 255;
  static constexpr uint32_t kDefaultFirstTtl = 1;
  static constexpr uint32_t kDefaultMaxTtl = 30;
  static constexpr uint32_t kMaxProbesPerHop = 10;
  static constexpr uint32_t kDefaultProbesPerHop = 3;
  static constexpr uint32_t kMaxFlows = 64;
  static constexpr uint32_t kDefaultPort = 33434;  // traceroute's base port
  static constexpr uint32_t kDefaultTcpPort = 80;  // traceroute -T's
  static constexpr uint32_t kMaxRounds = 1000000;
  static constexpr uint32_t kMaxFlowLabel = 0xfffff;
  static constexpr uint32_t kDefaultMtrSilentHops = 5;  // mtr's --max-unknown
  // Our probe header (12 bytes) after the IP and UDP / ICMP headers (8).
  static constexpr uint32_t kProbeHeader = 12;
  static constexpr uint32_t kMinLengthV4 = 20 + 8 + kProbeHeader;
  static constexpr uint32_t kMinLengthV6 = 40 + 8 + kProbeHeader;
  static constexpr uint32_t kMaxLength = 65000;
  // A TCP SYN probe: the TCP header and its MSS option, no data.
  static constexpr uint32_t kTcpSynLength = tcp_segment::kSynLength;
  static constexpr uint32_t kDefaultLengthV4 = 60;  // traceroute's defaults
  static constexpr uint32_t kDefaultLengthV6 = 80;
  // Probes a trace may send per second unless the request says: a full
  // 30-hop round of 3 takes 9 ms (traceroute sends 16 at once, unpaced).
  static constexpr uint32_t kDefaultRate = 10000;
  static constexpr uint32_t kMaxRate = 100000;
};

// A validated Traceroute request; the target is not resolved yet.
struct TraceroutePlan {
  enum class Method { kUdp, kIcmp, kTcp };
  std::string host;
  int family = 0;  // AF_UNSPEC, AF_INET or AF_INET6
  Method method = Method::kUdp;
  uint16_t port = TracerouteLimits::kDefaultPort;  // UDP and TCP
  uint32_t first_ttl = TracerouteLimits::kDefaultFirstTtl;
  uint32_t max_ttl = TracerouteLimits::kDefaultMaxTtl;
  uint32_t probes_per_hop = TracerouteLimits::kDefaultProbesPerHop;
  absl::Duration wait = absl::Seconds(5);
  // Unset: the family's default, known once the target is resolved.
  std::optional<uint32_t> packet_length;
  uint32_t flows = 1;
  uint32_t rate = TracerouteLimits::kDefaultRate;
  // mtr mode: set (0: until cancelled); unset: one traceroute.
  std::optional<uint32_t> rounds;
  absl::Duration interval = absl::Seconds(1);  // mtr mode: between rounds
  bool resolve = false;
  std::optional<uint32_t> flow_label;  // IPv6 only
  // Silent hops in a row that end the trace; 0: never.
  uint32_t max_silent_hops = 0;
  bool path_mtu = false;
  SocketSetup setup;
  std::optional<ProbeCapturePlan> capture;  // the probe's own packets
  // Set by the server from the policy: target check and send budgets.
  Admission admission;

  uint32_t hops() const { return max_ttl - first_ttl + 1; }
  bool mtr() const { return rounds.has_value(); }
  // Probes the plan sends at most (one traceroute; per round in mtr mode).
  uint64_t attempts() const {
    return static_cast<uint64_t>(hops()) * flows * probes_per_hop;
  }
  // The packet length for `family` (the request's, or the default; TCP: the
  // SYN's, headers only), and the payload it leaves after the IP and UDP /
  // ICMP headers (TCP: 0); INVALID_ARGUMENT when the request's is below the
  // family's minimum.
  absl::StatusOr<uint32_t> PayloadSize(int family) const;
  uint32_t LengthFor(int family) const {
    if (method == Method::kTcp) {
      return (family == AF_INET6 ? 40 : 20) + TracerouteLimits::kTcpSynLength;
    }
    return packet_length.value_or(family == AF_INET6
                                      ? TracerouteLimits::kDefaultLengthV6
                                      : TracerouteLimits::kDefaultLengthV4);
  }
};

// INVALID_ARGUMENT naming the field and its limit (NOT_FOUND for an unknown
// interface).
absl::StatusOr<TraceroutePlan> ValidateTraceroute(const v1::TracerouteRequest& request);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TRACEROUTE_REQUEST_H_
