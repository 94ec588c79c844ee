#ifndef NETPROBE_CLIENT_OUTPUT_BROADCAST_TEXT_H_
#define NETPROBE_CLIENT_OUTPUT_BROADCAST_TEXT_H_

#include <string>

#include "netprobe/v1/udp.pb.h"

namespace netprobe::client {

// The line for the `sent` event:
//   "BROADCAST eth0 198.18.0.255:7 from port 40112: 18 bytes, window 2s"
//   "broadcast: eth0 198.18.0.255:7: send failed: ENETDOWN Network is down"
std::string FormatBroadcastSent(const v1::BroadcastSent& sent);

// One line per reply:
//   "18 bytes from 198.18.0.11:7: time=0.123 ms ttl=64 echo"
//   "5 bytes from 198.18.0.13:7: time=0.150 ms ttl=64 payload \"hello\""
// Payloads that are not an echo are shown escaped, at most 64 bytes.
std::string FormatBroadcastReply(const v1::BroadcastReply& reply);

// "3 replies from 2 responders" plus, when not zero,
// "; 4 dropped by the kernel" and "; 1 ICMP error ignored".
std::string FormatBroadcastSummary(const v1::BroadcastSummary& summary);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_BROADCAST_TEXT_H_
