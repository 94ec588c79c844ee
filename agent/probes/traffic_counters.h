#ifndef NETPROBE_AGENT_PROBES_TRAFFIC_COUNTERS_H_
#define NETPROBE_AGENT_PROBES_TRAFFIC_COUNTERS_H_

#include <atomic>
#include <cstdint>

namespace netprobe {

// The probes that send, as the metrics label them.
enum class SendingProbe {
  kPing,
  kTcpConnect,
  kUdpEcho,
  kBroadcast,
  kMulticast,
  kTraceroute
};
inline constexpr int kSendingProbes = 6;
inline constexpr const char* kSendingProbeNames[kSendingProbes] = {
    "Ping", "TcpConnect", "UdpEcho", "Broadcast", "Multicast", "Traceroute"};

// Process-wide totals for the metrics endpoint: packets the probes sent (a
// TCP connect counts its SYN), events dropped on streams whose client read
// too slowly, packets captures dropped for the same reason. Monotonic;
// relaxed atomics: any thread may add, a scrape reads.
class TrafficCounters {
 public:
  static TrafficCounters& Get() {
    static TrafficCounters* counters = new TrafficCounters();
    return *counters;
  }
  void Sent(SendingProbe probe) {
    sent_[static_cast<int>(probe)].fetch_add(1, std::memory_order_relaxed);
  }
  void StreamEventDropped() { stream_dropped_.fetch_add(1, std::memory_order_relaxed); }
  void CapturePacketDropped(uint64_t packets = 1) {
    capture_dropped_.fetch_add(packets, std::memory_order_relaxed);
  }

  uint64_t sent(int probe) const { return sent_[probe].load(std::memory_order_relaxed); }
  uint64_t stream_events_dropped() const {
    return stream_dropped_.load(std::memory_order_relaxed);
  }
  uint64_t capture_packets_dropped() const {
    return capture_dropped_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t> sent_[kSendingProbes] = {};
  std::atomic<uint64_t> stream_dropped_{0};
  std::atomic<uint64_t> capture_dropped_{0};
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TRAFFIC_COUNTERS_H_
