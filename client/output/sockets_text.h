#ifndef NETPROBE_CLIENT_OUTPUT_SOCKETS_TEXT_H_
#define NETPROBE_CLIENT_OUTPUT_SOCKETS_TEXT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "netprobe/v1/sockets.pb.h"

namespace netprobe::client {

struct SocketsTableOptions {
  bool netid = false;      // the Netid column (ss shows it for several kinds)
  bool processes = false;  // users:(("name",pid=N,fd=N)) in the Process column
  bool tcp_info = false;   // a second line per TCP socket, as ss -i prints
  bool numeric = false;    // -n: rates in plain bps ("18700000000bps", not "18.7Gbps")
  bool timers = false;     // -o: timer:(...) and, in the -i line, ts/sack/ecn
  bool state = true;       // the State column (ss hides it for a single state)
  bool header = true;      // -H clears it: no header line
  bool memory = false;     // -m: skmem:(r..,rb..,t..,tb..,f..,w..,o..,bl..,d..)
  bool details = false;    // -e: uid, ino, sk (the cookie), v6only; implies timers
};

// The table `ss -an` prints when its output is not a terminal, columns sized
// to their contents, addresses right-aligned so the colons line up:
//   Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess
//   tcp   LISTEN 0      128          0.0.0.0:22        0.0.0.0:*
//   tcp   LISTEN 0      128                *:7007            *:*
// A header line (unless !header), then one line per socket with what -o and
// -e add, then its -m / -i line. Trailing blanks are trimmed.
std::string FormatSocketsTable(const std::vector<const v1::SocketEntry*>& sockets,
                               const SocketsTableOptions& options);

// "198.18.0.10:22", "[2001:2::a]:22", "0.0.0.0:*" (port 0), "*:7007" (an
// IPv6 wildcard that is not v6only), "[::]:7007" (a v6only one), or for unix
// sockets the path ("@name" for abstract ones, "*" for none) and the inode.
std::string FormatLocal(const v1::SocketEntry& socket);
std::string FormatPeer(const v1::SocketEntry& socket);

// ss -i's line, its fields in ss's order and syntax: " cubic wscale:7,7
// rto:204 rtt:0.034/0.017 ato:40 mss:1448 pmtu:1500 rcvmss:536 advmss:1448
// cwnd:10 bytes_sent:... segs_out:6 segs_in:2 send 3.41Gbps lastsnd:8
// lastrcv:8 lastack:8 pacing_rate 6.81Gbps delivery_rate 1.2Gbps app_limited
// busy:8ms retrans:0/2 rcv_space:... minrtt:0.02 snd_wnd:65536". Fields that
// are zero or that the kernel did not give are left out, as ss does.
std::string FormatTcpInfoLine(const v1::TcpInfo& info,
                              const SocketsTableOptions& options = {});

// A rate in bits per second as ss prints it: "%.3g" with k, M, G or T
// ("18.7G", "950k", "12"); with `numeric` the whole number ("18700000000").
std::string FormatBitRate(double bits_per_second, bool numeric);

// ss -o's timer, " timer:(keepalive,119min,0)"; "" when none.
std::string FormatTimer(const v1::SocketEntry& socket);
// ss's print_ms_timer: "204ms", "1.500sec", "59sec", "2min", "119min".
std::string FormatMsTimer(uint64_t ms);
// ss -m's " skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0)"; "" when the
// agent had no SK_MEMINFO for the socket.
std::string FormatSkmem(const v1::SocketEntry& socket);
// ss -e's " uid:1000 ino:4242 sk:1f v6only:0 <->" (uid when not 0).
std::string FormatDetails(const v1::SocketEntry& socket);

// ss -s's block from the agent's kernel counters, then what the listing held:
//   Total: 10
//   TCP:   38 (estab 2, closed 2, orphaned 0, timewait 31)
//
//   Transport Total     IP        IPv6
//   RAW       0         0         0
//   ... (UDP, TCP, INET, FRAG; tab-separated as ss)
//
//   Listed: tcp 3 (ESTAB 2, LISTEN 1); udp 1 (UNCONN 1)
std::string FormatSocketsSummary(const v1::SocketsSummary& summary);

// users:(("python3",pid=12,fd=3),("python3",pid=13,fd=3))
std::string FormatProcesses(const v1::SocketEntry& socket);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_SOCKETS_TEXT_H_
