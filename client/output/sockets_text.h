#ifndef NETPROBE_CLIENT_OUTPUT_SOCKETS_TEXT_H_
#define NETPROBE_CLIENT_OUTPUT_SOCKETS_TEXT_H_

#include <string>
#include <vector>

#include "netprobe/v1/sockets.pb.h"

namespace netprobe::client {

struct SocketsTableOptions {
  bool netid = false;      // the Netid column (ss shows it for several kinds)
  bool processes = false;  // the Process column, users:(("name",pid=N,fd=N))
  bool tcp_info = false;   // a second line per TCP socket, as ss -i prints
};

// The table `ss -an` prints, columns sized to their contents:
//   Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process
//   tcp   LISTEN 0      128    0.0.0.0:22         0.0.0.0:*
// A header line, then one line per socket (plus its TCP_INFO line).
std::string FormatSocketsTable(const std::vector<const v1::SocketEntry*>& sockets,
                               const SocketsTableOptions& options);

// "198.18.0.10:22", "[2001:2::a]:22", "0.0.0.0:*" (port 0), or for unix
// sockets the path ("@name" for abstract ones, "*" for none) and the inode.
std::string FormatLocal(const v1::SocketEntry& socket);
std::string FormatPeer(const v1::SocketEntry& socket);

// ss -i's line: " cubic wscale:7,7 rtt:0.034/0.017 mss:1448 pmtu:1500
// rcvmss:536 cwnd:10 ssthresh:7 bytes_sent:... bytes_acked:...
// bytes_received:... delivery_rate:...bps busy:...ms retrans:0/2 lost:0
// rcv_space:... minrtt:0.02" (fields the kernel did not give are left out).
std::string FormatTcpInfoLine(const v1::TcpInfo& info);

// users:(("python3",pid=12,fd=3),("python3",pid=13,fd=3))
std::string FormatProcesses(const v1::SocketEntry& socket);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_SOCKETS_TEXT_H_
