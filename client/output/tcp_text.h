#ifndef NETPROBE_CLIENT_OUTPUT_TCP_TEXT_H_
#define NETPROBE_CLIENT_OUTPUT_TCP_TEXT_H_

#include <string>

#include "netprobe/v1/tcp.pb.h"

namespace netprobe::client {

// One line per attempt, like tcping:
//   "connected to web:80 (198.18.0.11): seq=1 time=0.142 ms local=198.18.0.10:40112"
//   "refused by 198.18.0.11:81 (198.18.0.11): seq=1 time=0.088 ms"
//   "timeout to 198.18.0.11:82 (198.18.0.11): seq=1 no answer within 1s"
// plus an indented tcp_info line when the event carries one.
std::string FormatTcpAttempt(const v1::TcpAttempt& attempt);

// A scan's line per port, nmap's states (open: connected; closed: RST;
// filtered: no answer or an ICMP prohibited; else the outcome's words):
//   "198.18.0.11:80 (198.18.0.11) open 0.142 ms"
//   "198.18.0.11:81 (198.18.0.11) closed"
//   "198.18.0.11:82 (198.18.0.11) filtered (no answer within 3s)"
std::string FormatTcpScanLine(const v1::TcpAttempt& attempt);
// The state FormatTcpScanLine names ("open", "closed", "filtered", ...).
std::string TcpScanState(const v1::AttemptResult& result);

// The per-target summary block, like ping's:
//   "--- web:80 (198.18.0.11) tcp connect statistics ---"
//   "3 attempts, 2 connected, 33.3% failed (REFUSED 1)"
//   "connect min/avg/max/mdev = 0.101/0.123/0.150/0.020 ms"
std::string FormatTcpSummary(const v1::TargetSummary& summary);

// "N events were dropped ..." notice and the StreamEnd line.
std::string FormatDropped(const v1::Dropped& dropped);
std::string FormatStreamEnd(const v1::StreamEnd& end);

// A Duration in milliseconds with three decimals ("0.142").
std::string Millis(const google::protobuf::Duration& d);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_TCP_TEXT_H_
