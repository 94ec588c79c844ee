#ifndef NETPROBE_AGENT_NET_RATE_LIMITER_H_
#define NETPROBE_AGENT_NET_RATE_LIMITER_H_

#include <algorithm>

#include "absl/time/time.h"

namespace netprobe {

// A rate bound as GCRA on monotonic time, which delivers the rate asked even
// when the loop wakes late:
//  - a burst of `ahead` worth of sends may go at once (at least one), so one
//    timer wake-up sends several packets rather than one (high rates cost a
//    wake-up per `ahead`/2, not per packet);
//  - a wake-up that comes late keeps the credit it missed, up to `catch_up`
//    behind the schedule: the sends due meanwhile go at once, as a burst of at
//    most catch_up x rate (+ ahead x rate) packets. Only a stall longer than
//    `catch_up` (or a pause) loses what it missed.
// Not thread-safe.
class RateLimiter {
 public:
  // The defaults the probes and the policy's budgets use: 1 ms ahead, 20 ms
  // of catch-up (at 20,000/s a burst of at most ~420 packets after a stall).
  static constexpr absl::Duration kAhead = absl::Milliseconds(1);
  static constexpr absl::Duration kCatchUp = absl::Milliseconds(20);

  // `rate` per second; 0 or less: unbounded.
  explicit RateLimiter(double rate, absl::Duration ahead = kAhead,
                       absl::Duration catch_up = kCatchUp)
      : spacing_(rate > 0 ? absl::Seconds(1) / rate : absl::ZeroDuration()),
        ahead_(std::max(ahead, spacing_)),
        catch_up_(catch_up) {}

  bool unbounded() const { return spacing_ == absl::ZeroDuration(); }
  absl::Duration spacing() const { return spacing_; }

  // The earliest monotonic time one more send may go (<= now: now).
  absl::Duration NextSend(absl::Duration now) const {
    if (unbounded() || !started_) return now;
    return std::max(now, tat_ - ahead_ + spacing_);
  }
  // Wake-up time to ask for when NextSend(now) > now: half the ahead window
  // later than the first allowed moment, so the wake-up sends a burst.
  absl::Duration WakeAt(absl::Duration now) const {
    const absl::Duration first = NextSend(now);
    return first <= now ? now : std::max(first, tat_ - ahead_ / 2 + spacing_);
  }
  // One send at `now` (REQUIRES: NextSend(now) <= now).
  void Consume(absl::Duration now) {
    if (unbounded()) return;
    // The first send starts the schedule at `now`: no credit before it.
    tat_ = (started_ ? std::max(tat_, now - catch_up_) : now) + spacing_;
    started_ = true;
  }

 private:
  const absl::Duration spacing_;
  const absl::Duration ahead_;
  const absl::Duration catch_up_;
  // The theoretical time of the next send (GCRA's TAT), once the first went.
  absl::Duration tat_ = absl::ZeroDuration();
  bool started_ = false;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_RATE_LIMITER_H_
