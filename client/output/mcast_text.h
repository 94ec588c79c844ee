#ifndef NETPROBE_CLIENT_OUTPUT_MCAST_TEXT_H_
#define NETPROBE_CLIENT_OUTPUT_MCAST_TEXT_H_

#include <string>

#include "absl/time/time.h"
#include "netprobe/v1/udp.pb.h"

namespace netprobe::client {

// Times are printed in `zone` (the CLI passes the local time zone).

// "joined 239.1.2.3 port 5000 on eth0, any source, at 12:00:00.123456"
std::string FormatMcastJoined(const v1::MulticastJoined& joined, absl::TimeZone zone);

// One line per datagram, like a receiver tool:
//   "198.18.0.11:40000 > 239.1.2.3: 12 bytes ttl=1 time=12:00:00.234567 "hello 1""
// The payload is shown C-escaped, its first 32 bytes at most.
std::string FormatMcastDatagram(const v1::MulticastDatagram& datagram,
                                absl::TimeZone zone);

// The closing block:
//   "--- 239.1.2.3:5000 multicast statistics ---"
//   "5 datagrams received from 1 source, 0 sent, 0 dropped by the kernel"
//   "first datagram 103.456 ms after the join"
std::string FormatMcastSummary(const std::string& group_port,
                               const v1::MulticastSummary& summary);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_MCAST_TEXT_H_
