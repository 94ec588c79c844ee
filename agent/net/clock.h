#ifndef NETPROBE_AGENT_NET_CLOCK_H_
#define NETPROBE_AGENT_NET_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/net/monotonic_clock.h"

namespace netprobe {

// The seam for time: the event loop and the probes read both clocks through
// it, so unit tests run timeouts, pacing and late wake-ups on a fake clock in
// microseconds. Thread-safe implementations only (gRPC threads read it too).
class Clock {
 public:
  virtual ~Clock() = default;
  // CLOCK_MONOTONIC as a Duration since boot: deadlines, timers, intervals.
  virtual absl::Duration Monotonic() const = 0;
  // CLOCK_REALTIME: event times, and the clock of the kernel's packet
  // timestamps (SO_TIMESTAMPING), so RTTs subtract times of one clock.
  virtual absl::Time Wall() const = 0;

  // The system's clocks. Never destroyed.
  static Clock* Real();
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_CLOCK_H_
