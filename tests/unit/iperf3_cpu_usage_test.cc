#include <gtest/gtest.h>

#include "agent/iperf3/cpu_usage.h"

namespace netprobe::iperf3 {
namespace {
namespace NETPROBE_UNITY_ID {

class FakeCpuClock final : public CpuClock {
 public:
  CpuSample Now() const override { return sample; }
  CpuSample sample;
};

CpuSample Sample(double wall, double process, double user, double system) {
  return CpuSample{absl::Seconds(wall), absl::Seconds(process), absl::Seconds(user),
                   absl::Seconds(system)};
}

TEST(CpuUsage, PercentOfWallTimeSinceStart) {
  FakeCpuClock clock;
  CpuUsage usage(clock);
  clock.sample = Sample(10, 1, 0.6, 0.3);
  usage.Start();
  clock.sample = Sample(12, 2, 1.2, 0.7);
  CpuPercent p = usage.Percent();
  EXPECT_DOUBLE_EQ(p.total, 50);
  EXPECT_DOUBLE_EQ(p.user, 30);
  EXPECT_DOUBLE_EQ(p.system, 20);

  // Several threads can use more than one CPU.
  clock.sample = Sample(11, 4, 3.5, 0.5);
  p = usage.Percent();
  EXPECT_DOUBLE_EQ(p.total, 300);
  EXPECT_DOUBLE_EQ(p.user, 290);
  EXPECT_DOUBLE_EQ(p.system, 20);

  // Start again: from the new sample.
  usage.Start();
  clock.sample = Sample(15, 5, 4, 0.5);
  p = usage.Percent();
  EXPECT_DOUBLE_EQ(p.total, 25);
  EXPECT_DOUBLE_EQ(p.user, 12.5);
  EXPECT_DOUBLE_EQ(p.system, 0);
}

TEST(CpuUsage, ZeroBeforeStartAndWithoutWallTime) {
  FakeCpuClock clock;
  CpuUsage usage(clock);
  clock.sample = Sample(10, 1, 1, 1);
  CpuPercent p = usage.Percent();
  EXPECT_EQ(p.total, 0);
  EXPECT_EQ(p.user, 0);
  EXPECT_EQ(p.system, 0);
  usage.Start();
  clock.sample = Sample(10, 2, 2, 2);
  p = usage.Percent();
  EXPECT_EQ(p.total, 0);
  EXPECT_EQ(p.user, 0);
  EXPECT_EQ(p.system, 0);
}

TEST(CpuUsage, SystemClockSeesThisProcessWork) {
  const CpuClock& clock = SystemCpuClock();
  CpuUsage usage;
  usage.Start();
  const CpuSample start = clock.Now();
  // Spin until the process used 20 ms of CPU time (no sleeping and hoping).
  volatile uint64_t sink = 0;
  while (clock.Now().process - start.process < absl::Milliseconds(20)) {
    for (int i = 0; i < 10000; ++i) sink = sink + i;
  }
  const CpuSample end = clock.Now();
  EXPECT_GT(end.wall, start.wall);
  EXPECT_GE(end.user + end.system, start.user + start.system);
  CpuPercent p = usage.Percent();
  EXPECT_GT(p.total, 0);
  EXPECT_GT(p.user + p.system, 0);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::iperf3
