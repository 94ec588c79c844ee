#ifndef NETPROBE_CLIENT_OUTPUT_CAPTURE_TOTALS_H_
#define NETPROBE_CLIENT_OUTPUT_CAPTURE_TOTALS_H_

#include <cstdint>
#include <string>

#include "netprobe/v1/capture.pb.h"

namespace netprobe::client {

// tcpdump's closing lines, from the packets this client received and the
// agent's last totals:
//   "3 packets captured"
//   "5 packets received by filter"
//   "0 packets dropped by kernel"
//   "2 packets dropped by interface"       (only when not zero, as tcpdump)
//   "1 packet dropped by agent (client read too slowly)"
std::string FormatCaptureTotals(uint64_t captured, const v1::CaptureStats& stats);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_CAPTURE_TOTALS_H_
