#include "agent/net/clock.h"

namespace netprobe {
namespace {

class RealClock final : public Clock {
 public:
  absl::Duration Monotonic() const override { return MonotonicNow(); }
  absl::Time Wall() const override { return absl::Now(); }
};

}  // namespace

Clock* Clock::Real() {
  static RealClock* const clock = new RealClock();
  return clock;
}

}  // namespace netprobe
