#ifndef NETPROBE_AGENT_IPERF3_UDP_RECEIVE_STATS_H_
#define NETPROBE_AGENT_IPERF3_UDP_RECEIVE_STATS_H_

// The receiving end of one iperf3 UDP stream, counted exactly as
// iperf_udp_recv (iperf_udp.c, 3.12) counts it, so that our numbers and an
// iperf3 peer's agree. Pure: the caller reads the datagram and the clock.
// Not thread-safe: owned by the stream's loop.

#include <cstdint>

#include "absl/time/time.h"
#include "agent/iperf3/wire.h"

namespace netprobe::iperf3 {

class UdpReceiveStats {
 public:
  // One datagram arrived at `arrival`; call it only while the test runs
  // (iperf3 ignores datagrams outside TEST_RUNNING). Any clock will do as long as every
  // call for this stream uses the same one: only differences of transit
  // times count (the sender's clock is its own, CLOCK_MONOTONIC in iperf3).
  //
  // Sequence numbers (the sender's first is 1) are expected to grow by one:
  //  - above the highest so far: a gap of N counts N errors (lost), and this
  //    becomes the highest;
  //  - otherwise (late, or a duplicate): one out-of-order datagram, and one
  //    error less if any (it was counted lost when the gap appeared). iperf3
  //    cannot tell duplicates; neither can this.
  // Jitter is RFC 3550's (A.8): transit = |arrival - sent| with both taken
  // to the microsecond as iperf3 does, D = |transit - previous transit|,
  // J += (D - J) / 16; the first datagram (also the first after Reset) only
  // sets the previous transit.
  void OnDatagram(const UdpHeader& header, absl::Time arrival);

  // The end of the omitted seconds (iperf_reset_stats): jitter restarts from
  // 0 with the next datagram as the first, and the counters as they are now
  // are remembered as the omitted part. The counters themselves go on:
  // iperf3 sends them whole in the result exchange ("packets", "errors") and
  // subtracts the omitted part only when it reports.
  void Reset();

  // What iperf3 sends in the result exchange for a receiving stream.
  uint64_t packet_count() const { return packet_count_; }  // highest sequence seen
  int64_t errors() const { return errors_; }               // lost ("errors")
  int64_t out_of_order() const { return out_of_order_; }
  double jitter_seconds() const { return jitter_seconds_; }
  // Datagrams that arrived, duplicates and late ones included.
  uint64_t datagrams() const { return datagrams_; }

  // Since the last Reset (the omitted seconds left out), as iperf3 reports:
  // packets = packet_count - omitted packet_count, and so on.
  uint64_t packets_since_reset() const { return packet_count_ - omitted_packet_count_; }
  int64_t errors_since_reset() const { return errors_ - omitted_errors_; }
  int64_t out_of_order_since_reset() const {
    return out_of_order_ - omitted_out_of_order_;
  }

 private:
  uint64_t packet_count_ = 0;
  int64_t errors_ = 0;
  int64_t out_of_order_ = 0;
  uint64_t datagrams_ = 0;
  double jitter_seconds_ = 0;
  bool first_ = true;  // the next datagram only sets previous_transit_us_
  int64_t previous_transit_us_ = 0;
  uint64_t omitted_packet_count_ = 0;
  int64_t omitted_errors_ = 0;
  int64_t omitted_out_of_order_ = 0;
};

}  // namespace netprobe::iperf3

#endif  // NETPROBE_AGENT_IPERF3_UDP_RECEIVE_STATS_H_
