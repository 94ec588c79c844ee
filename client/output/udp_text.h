#ifndef NETPROBE_CLIENT_OUTPUT_UDP_TEXT_H_
#define NETPROBE_CLIENT_OUTPUT_UDP_TEXT_H_

#include <string>

#include "netprobe/v1/udp.pb.h"

namespace netprobe::client {

// "UDP ECHO echo.lab:7 (198.18.0.11:7) 64 bytes"
std::string FormatUdpEchoHeader(const v1::Endpoint& target, uint32_t size);

// One datagram, ping-like:
//   "64 bytes from 198.18.0.11:7: seq=1 time=0.081 ms"
//   "From 198.18.0.11 seq=2 Destination Port Unreachable"
//   "Request timeout for seq=3"
std::string FormatUdpEchoReply(const v1::UdpEchoReply& reply);

// The closing block, ping's plus jitter and the marks UDP adds.
std::string FormatUdpEchoSummary(const v1::TargetSummary& summary);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_UDP_TEXT_H_
