#include "agent/iperf3/cpu_usage.h"

#include <sys/resource.h>
#include <time.h>

namespace netprobe::iperf3 {
namespace {

absl::Duration ReadClock(clockid_t id) {
  timespec ts{};
  // Only EINVAL (an unknown clock) can fail, and these clocks exist on Linux.
  if (clock_gettime(id, &ts) != 0) return absl::ZeroDuration();
  return absl::DurationFromTimespec(ts);
}

class SystemClock final : public CpuClock {
 public:
  CpuSample Now() const override {
    CpuSample sample;
    sample.wall = ReadClock(CLOCK_MONOTONIC);
    sample.process = ReadClock(CLOCK_PROCESS_CPUTIME_ID);
    rusage usage{};
    if (getrusage(RUSAGE_SELF, &usage) == 0) {
      sample.user = absl::DurationFromTimeval(usage.ru_utime);
      sample.system = absl::DurationFromTimeval(usage.ru_stime);
    }
    return sample;
  }
};

}  // namespace

const CpuClock& SystemCpuClock() {
  static const SystemClock* const clock = new SystemClock;
  return *clock;
}

void CpuUsage::Start() {
  start_ = clock_.Now();
  started_ = true;
}

CpuPercent CpuUsage::Percent() const {
  CpuPercent percent;
  if (!started_) return percent;
  const CpuSample now = clock_.Now();
  const absl::Duration wall = now.wall - start_.wall;
  if (wall <= absl::ZeroDuration()) return percent;
  percent.total = absl::FDivDuration(now.process - start_.process, wall) * 100;
  percent.user = absl::FDivDuration(now.user - start_.user, wall) * 100;
  percent.system = absl::FDivDuration(now.system - start_.system, wall) * 100;
  return percent;
}

}  // namespace netprobe::iperf3
