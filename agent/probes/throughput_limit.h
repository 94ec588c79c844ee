#ifndef NETPROBE_AGENT_PROBES_THROUGHPUT_LIMIT_H_
#define NETPROBE_AGENT_PROBES_THROUGHPUT_LIMIT_H_

#include <string>

#include "absl/time/time.h"
#include "netprobe/v1/throughput.pb.h"

namespace netprobe {

// A TCP sender's chrono times (TCP_INFO) over the measured part of a test,
// summed over its streams. The kernel counts each moment in at most one of
// busy (data in flight, limited by nothing of its own), rwnd_limited and
// sndbuf_limited; tcpi_busy_time is their sum.
struct SenderTimes {
  absl::Duration busy;  // tcpi_busy_time: all three together
  absl::Duration rwnd_limited;
  absl::Duration sndbuf_limited;
  absl::Duration elapsed;  // the streams' wall time, summed likewise
};

// What limited the sender, and a sentence saying it with the shares of the
// time: the receiver's window or the send buffer when either held it back
// for at least a fifth of the time (the larger one); else the application
// when the connection was idle (nothing to send: a bitrate cap) more than
// half of the time; else the network (the congestion window, the path).
struct LimitVerdict {
  v1::ThroughputLimit limit = v1::THROUGHPUT_LIMIT_UNSPECIFIED;
  std::string detail;
};
LimitVerdict JudgeLimit(const SenderTimes& times);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_THROUGHPUT_LIMIT_H_
