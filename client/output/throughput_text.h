#ifndef NETPROBE_CLIENT_OUTPUT_THROUGHPUT_TEXT_H_
#define NETPROBE_CLIENT_OUTPUT_THROUGHPUT_TEXT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "netprobe/v1/throughput.pb.h"

namespace netprobe::client {

// A quantity the way iperf3's unit_snprintf prints it adaptively, in at most
// four digits: bytes 1024-based ("1.92 GByte", "482 MByte", "895 KByte"),
// bits 1000-based ("16.5 Gbit", "99.9 Mbit"); iperf3's formats add the "s".
std::string IperfBytes(double bytes);
std::string IperfBits(double bits);

// "netprobe throughput: error - <summary.error>" (iperf3's "iperf3: error -
// ..."), for stderr; "" when the test ended well.
std::string FormatThroughputError(const v1::ThroughputSummary& summary);

// iperf3 -c's text from Throughput events, in iperf3 3.12's layout:
//   Connecting to host lab.far, port 5201
//   [  1] local 198.18.0.1 port 40112 connected to 198.18.0.2 port 5201
//   [ ID] Interval           Transfer     Bitrate         Retr  Cwnd
//   [  1]   0.00-1.00   sec  11.2 MBytes  94.1 Mbits/sec    0    215 KBytes
//   ...
//   - - - - - - - - - - - - - - - - - - - - - - - - -
//   [ ID] Interval           Transfer     Bitrate         Retr
//   [  1]   0.00-10.00  sec   112 MBytes  94.1 Mbits/sec    0             sender
//   [  1]   0.00-10.00  sec   112 MBytes  93.9 Mbits/sec                  receiver
//   CPU Utilization: local/sender 1.2% (0.1%u/1.1%s), remote/receiver 3.4% (...)
//   Limited by: send buffer (SO_SNDBUF) 73% of the time (receive window 0%, busy 99%)
// Lines of one interval come as a block once every stream's event for it
// arrived (the streams ThroughputStarted named), in iperf3's order: the
// agent's sending streams, then its receiving ones ([TX-C] and [RX-C] with
// --bidir), each followed by its [SUM] line (summed here, as iperf3 does)
// when there are parallel streams. Intervals after the omitted seconds are
// timed from their end, as iperf3 restarts its clock. Not thread-safe.
class ThroughputText {
 public:
  explicit ThroughputText(bool udp) : udp_(udp) {}

  // "Connecting to host H, port P", "Reverse mode, remote host H is sending"
  // (-R) and a "[ ID] local A port P connected to B port Q" line per stream.
  std::string Started(const v1::ThroughputStarted& started);
  // Interval lines completed by `interval` (possibly none). The agent's sums
  // (stream_id 0) are left to --json.
  std::string Add(const v1::ThroughputInterval& interval);
  // The lines of an interval still incomplete (the stream was cut short).
  std::string Flush();
  // Flush(), then the summary block: the sender and receiver lines per
  // stream and direction (their sums with parallel streams), CPU use of both
  // ends, the congestion control of each side and what limited the sender.
  // The error, if any, is FormatThroughputError's.
  std::string Summary(const v1::ThroughputSummary& summary);

 private:
  std::string Block();
  bool bidir() const { return has_sender_ && has_receiver_; }
  std::string Role(bool sender) const;

  const bool udp_;
  // From ThroughputStarted (else from the intervals as they come).
  std::string local_congestion_;
  size_t expected_streams_ = 0;
  size_t parallel_ = 0;  // streams per direction (iperf3 -P)
  bool has_sender_ = false;
  bool has_receiver_ = false;
  // The interval being collected, and whether a block was printed yet.
  std::vector<v1::ThroughputInterval> pending_;
  bool header_printed_ = false;
  // The end of the omitted seconds: later intervals are timed from here.
  double omit_end_ = 0;
};

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_THROUGHPUT_TEXT_H_
