#ifndef NETPROBE_TESTS_TEST_SUPPORT_FAKE_CLOCK_H_
#define NETPROBE_TESTS_TEST_SUPPORT_FAKE_CLOCK_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>

#include "absl/time/time.h"
#include "agent/net/clock.h"
#include "agent/net/event_loop.h"

namespace netprobe::testing {

// A clock that moves only when told. Both clocks move together; the wall
// clock starts at a fixed date so event times are reproducible.
class FakeClock final : public Clock {
 public:
  absl::Duration Monotonic() const override { return absl::Nanoseconds(now_ns_.load()); }
  absl::Time Wall() const override {
    return absl::FromUnixSeconds(1'800'000'000) + Monotonic();
  }
  void Advance(absl::Duration d) { now_ns_ += absl::ToInt64Nanoseconds(d); }
  void Set(absl::Duration monotonic) { now_ns_ = absl::ToInt64Nanoseconds(monotonic); }

 private:
  // Starts well above zero, so "now minus a catch-up allowance" stays positive.
  std::atomic<int64_t> now_ns_{absl::ToInt64Nanoseconds(absl::Hours(1))};
};

// How late a timer wake-up comes; called once per wake-up.
using Lateness = std::function<absl::Duration()>;

// Runs `loop` on `clock` until `until`: each timer fires at its own deadline
// (plus `late()`, a wake-up that comes late), with posted and deferred work and
// ready fds handled after each step. Bounded by `max_steps`.
inline void RunUntil(EventLoop& loop, FakeClock& clock, absl::Duration until,
                     const Lateness& late = nullptr, int max_steps = 10'000'000) {
  loop.RunOnce();
  for (int step = 0; step < max_steps; ++step) {
    const std::optional<absl::Duration> next = loop.NextTimerDeadline();
    if (!next || *next > until) break;
    const absl::Duration at = *next + (late ? late() : absl::ZeroDuration());
    if (at > clock.Monotonic()) clock.Set(std::min(at, until));
    loop.RunOnce();
  }
  if (clock.Monotonic() < until) clock.Set(until);
  loop.RunOnce();
}

inline void RunFor(EventLoop& loop, FakeClock& clock, absl::Duration d,
                   const Lateness& late = nullptr) {
  RunUntil(loop, clock, clock.Monotonic() + d, late);
}

// Late by 0 to `max`, pseudo-random but the same every run.
inline Lateness UpTo(absl::Duration max, uint32_t seed = 1) {
  return [max, state = seed]() mutable {
    state = state * 1664525u + 1013904223u;
    return max * ((state >> 8) / static_cast<double>(1u << 24));
  };
}

}  // namespace netprobe::testing

#endif  // NETPROBE_TESTS_TEST_SUPPORT_FAKE_CLOCK_H_
