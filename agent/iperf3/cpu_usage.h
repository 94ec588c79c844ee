#ifndef NETPROBE_AGENT_IPERF3_CPU_USAGE_H_
#define NETPROBE_AGENT_IPERF3_CPU_USAGE_H_

// CPU use between two moments as iperf3 reports it (cpu_util, iperf_util.c
// 3.12): process CPU time, user time and system time, each in percent of
// the wall time that passed. For the result exchange's cpu_util_total,
// cpu_util_user and cpu_util_system.
//
// iperf3 runs a test per process, so its RUSAGE_SELF is the test's. Here the
// process is the whole agent: the numbers include whatever else it did
// meanwhile (other probes, gRPC).

#include "absl/time/time.h"

namespace netprobe::iperf3 {

// The clocks CpuUsage reads; a seam so tests can feed fixed numbers.
struct CpuSample {
  absl::Duration wall;     // a monotonic clock
  absl::Duration process;  // the process's CPU time (what clock() reports)
  absl::Duration user;     // getrusage ru_utime
  absl::Duration system;   // getrusage ru_stime
};
class CpuClock {
 public:
  virtual ~CpuClock() = default;
  virtual CpuSample Now() const = 0;
};
// CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID and getrusage(RUSAGE_SELF).
// Thread-safe; lives forever.
const CpuClock& SystemCpuClock();

struct CpuPercent {
  double total = 0;
  double user = 0;
  double system = 0;
};

// Not thread-safe: one owner.
class CpuUsage {
 public:
  explicit CpuUsage(const CpuClock& clock = SystemCpuClock()) : clock_(clock) {}

  // Takes the starting sample.
  void Start();
  // Percent of the wall time since Start; all 0 before Start or when no
  // wall time has passed (iperf3 would divide by zero).
  CpuPercent Percent() const;

 private:
  const CpuClock& clock_;
  bool started_ = false;
  CpuSample start_;
};

}  // namespace netprobe::iperf3

#endif  // NETPROBE_AGENT_IPERF3_CPU_USAGE_H_
