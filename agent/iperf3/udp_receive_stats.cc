#include "agent/iperf3/udp_receive_stats.h"

#include <cstdlib>

namespace netprobe::iperf3 {

void UdpReceiveStats::OnDatagram(const UdpHeader& header, absl::Time arrival) {
  ++datagrams_;
  const uint64_t sequence = header.sequence;
  if (sequence >= packet_count_ + 1) {
    if (sequence > packet_count_ + 1) {
      errors_ += static_cast<int64_t>((sequence - 1) - packet_count_);
    }
    packet_count_ = sequence;
  } else {
    ++out_of_order_;
    if (errors_ > 0) --errors_;
  }

  // iperf_time keeps microseconds; iperf_time_diff is the absolute difference.
  const int64_t sent_us =
      int64_t{header.seconds} * 1'000'000 + int64_t{header.microseconds};
  const int64_t transit_us = std::llabs(absl::ToUnixMicros(arrival) - sent_us);
  if (first_) {
    previous_transit_us_ = transit_us;
    first_ = false;
  }
  const double d =
      static_cast<double>(std::llabs(transit_us - previous_transit_us_)) / 1e6;
  previous_transit_us_ = transit_us;
  jitter_seconds_ += (d - jitter_seconds_) / 16.0;
}

void UdpReceiveStats::Reset() {
  omitted_packet_count_ = packet_count_;
  omitted_errors_ = errors_;
  omitted_out_of_order_ = out_of_order_;
  jitter_seconds_ = 0;
  first_ = true;
}

}  // namespace netprobe::iperf3
