#ifndef NETPROBE_AGENT_PROBES_THROUGHPUT_REQUEST_H_
#define NETPROBE_AGENT_PROBES_THROUGHPUT_REQUEST_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/net/socket_setup.h"
#include "agent/probes/admission.h"
#include "agent/probes/probe_capture_request.h"
#include "netprobe/v1/throughput.pb.h"

namespace netprobe {

// Limits of one Throughput request (stated in the README). The policy caps
// duration, bytes, bitrate and streams further per caller.
struct ThroughputLimits {
  static constexpr uint16_t kDefaultPort = 5201;  // iperf3's
  static constexpr uint32_t kMaxParallel = 16;
  static constexpr absl::Duration kDefaultDuration = absl::Seconds(10);
  static constexpr absl::Duration kMaxDuration = absl::Hours(24);
  static constexpr absl::Duration kDefaultInterval = absl::Seconds(1);
  static constexpr absl::Duration kMinInterval = absl::Milliseconds(100);
  static constexpr absl::Duration kMaxInterval = absl::Seconds(60);
  static constexpr absl::Duration kMaxOmit = absl::Seconds(600);  // iperf3's
  // iperf3's MAX_BLOCKSIZE; a UDP datagram's payload at most 65507 bytes
  // (IPv4) and at least its 16-byte header.
  static constexpr uint32_t kMaxTcpLength = 1 << 20;
  static constexpr uint32_t kMinUdpLength = 16;
  static constexpr uint32_t kMaxUdpLength = 65507;
  static constexpr uint64_t kDefaultUdpBitrate = 1000000;   // iperf3's 1 Mbit/s
  static constexpr uint64_t kMaxBitrate = 400000000000ULL;  // 400 Gbit/s
  static constexpr uint32_t kMaxWindow = 64u << 20;         // as options.send_buffer
  static constexpr uint32_t kMinMss = 88;                   // the kernel's TCP_MIN_MSS
  static constexpr uint32_t kMaxMss = 9216;                 // iperf3's MAX_MSS
  static constexpr uint64_t kMaxBytes = 1ULL << 50;
};

// A validated Throughput request; the target is not resolved yet.
struct ThroughputPlan {
  enum class Direction { kSend, kReceive, kBoth };
  std::string host;
  uint16_t port = ThroughputLimits::kDefaultPort;
  int family = 0;  // AF_UNSPEC, AF_INET or AF_INET6
  bool udp = false;
  // Zero when `bytes` ends the test.
  absl::Duration duration = ThroughputLimits::kDefaultDuration;
  uint64_t bytes = 0;
  uint32_t parallel = 1;
  Direction direction = Direction::kSend;
  uint32_t window = 0;     // both ends' buffers; 0: the kernel's
  std::string congestion;  // both ends; empty: the kernel's
  uint32_t mss = 0;        // 0: the kernel's
  uint64_t bitrate = 0;    // per stream, bits/s; 0: unlimited (TCP only)
  uint32_t length = 0;     // per write / datagram; 0: iperf3's default
  absl::Duration interval = ThroughputLimits::kDefaultInterval;
  absl::Duration omit = absl::ZeroDuration();
  // The data streams' first source port (iperf3's --cport); 0: the kernel's.
  uint16_t source_port = 0;
  // The agent's sockets: the window unless options set a buffer, TOS,
  // TCP_NODELAY, interface, source, mark.
  SocketSetup setup;
  std::optional<ProbeCapturePlan> capture;  // the probe's own packets
  // Set by the server from the policy: the target check.
  Admission admission;

  // The longest the test runs: omitted seconds and the measured duration
  // (a byte count: the policy's duration cap bounds it).
  absl::Duration Length() const { return omit + duration; }
};

// INVALID_ARGUMENT naming the field and its limit (NOT_FOUND for an unknown
// interface). A congestion control the kernel does not offer is refused with
// the list it offers (tcp_available_congestion_control).
absl::StatusOr<ThroughputPlan> ValidateThroughput(const v1::ThroughputRequest& request);

// The congestion controls this kernel offers, from
// /proc/sys/net/ipv4/tcp_available_congestion_control (empty when unreadable).
std::vector<std::string> AvailableCongestionControls();

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_THROUGHPUT_REQUEST_H_
