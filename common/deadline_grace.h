#ifndef NETPROBE_COMMON_DEADLINE_GRACE_H_
#define NETPROBE_COMMON_DEADLINE_GRACE_H_

#include "absl/time/time.h"

namespace netprobe {

// A probe stream with a gRPC deadline ends this long before it, with a
// StreamEnd (REASON_DEADLINE) and its summaries, so they reach the client
// before DEADLINE_EXCEEDED could. A call with less than twice this left ends
// halfway to its deadline. The CLI's `ping -w D` sets a deadline of D plus
// this, so the probe ends D after it started, as iputils' does.
inline constexpr absl::Duration kDeadlineGrace = absl::Milliseconds(250);

// When a stream whose deadline is `left` away ends (infinite: never).
inline absl::Duration StopBeforeDeadline(absl::Duration left) {
  if (left == absl::InfiniteDuration()) return left;
  if (left <= absl::ZeroDuration()) return absl::ZeroDuration();
  return left >= 2 * kDeadlineGrace ? left - kDeadlineGrace : left / 2;
}

}  // namespace netprobe

#endif  // NETPROBE_COMMON_DEADLINE_GRACE_H_
