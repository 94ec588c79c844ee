#ifndef NETPROBE_AGENT_NET_MONOTONIC_CLOCK_H_
#define NETPROBE_AGENT_NET_MONOTONIC_CLOCK_H_

#include <time.h>

#include "absl/time/time.h"

namespace netprobe {

// CLOCK_MONOTONIC as a Duration since an arbitrary origin (boot). The one clock
// for deadlines, timers and measured intervals in the agent.
inline absl::Duration MonotonicNow() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return absl::DurationFromTimespec(ts);
}

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_MONOTONIC_CLOCK_H_
