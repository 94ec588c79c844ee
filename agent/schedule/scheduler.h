#ifndef NETPROBE_AGENT_SCHEDULE_SCHEDULER_H_
#define NETPROBE_AGENT_SCHEDULE_SCHEDULER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agent/net/event_loop.h"
#include "agent/probes/probe_registry.h"
#include "agent/schedule/probe_starter.h"
#include "agent/schedule/run_collector.h"
#include "agent/schedule/schedule_config.h"
#include "netprobe/v1/agent.pb.h"
#include "netprobe/v1/schedule.pb.h"

namespace netprobe {

// Where a scheduled probe's outcomes go (metrics, the WatchResults hub).
// Called on the loop thread.
class ScheduleObserver {
 public:
  virtual ~ScheduleObserver() = default;
  virtual void OnRtt(const ScheduledProbeSpec& spec, const std::string& target,
                     absl::Duration rtt) = 0;
  // One result per target of the run (one per request target when the run
  // could not start).
  virtual void OnResults(const ScheduledProbeSpec& spec,
                         const std::vector<v1::ScheduledResult>& results,
                         absl::Duration run_duration) = 0;
  // A run was due while the previous one still ran.
  virtual void OnSkipped(const ScheduledProbeSpec& spec) = 0;
  // `name` left the schedule (reload).
  virtual void OnRemoved(const std::string& name) = 0;
};

// The results of run `run` of `spec`, one per target: from the outcome's
// summaries (success: Reached; a traceroute's hops and summary too), and for
// targets without one (the run could not start or ended early) a failed
// result naming why.
std::vector<v1::ScheduledResult> ResultsOf(const ScheduledProbeSpec& spec, uint64_t run,
                                           const RunOutcome& outcome);

// Runs the scheduled probes on their intervals through ProbeStarter::Start
// (the RPCs' validation, policy and probe code), each as the caller
// "scheduler:NAME". Runs start at fixed rate (due times never drift); a run
// due while the previous one is still going is skipped and reported. The
// state lives on the loop; the public methods are thread-safe.
class Scheduler {
 public:
  Scheduler(EventLoop* loop, ProbeStarter* service, ScheduleObserver* observer)
      : loop_(loop), service_(service), observer_(observer) {}
  // REQUIRES: Stop() was called while the loop ran (or nothing was Set).
  ~Scheduler() = default;

  // Replaces the schedule (start, SIGHUP): runs of the old one are
  // cancelled, probes no longer configured are reported removed, and every
  // new probe runs at once, then every interval. Returns once applied.
  void Set(std::vector<ScheduledProbeSpec> probes);
  // Stops every timer and cancels runs in flight. Returns once applied;
  // later Set() and Stop() calls do nothing. REQUIRES: the loop runs.
  void Stop();

  // The names of the scheduled probes now configured.
  std::vector<std::string> names() const;
  // The schedule now configured, as GetInfo shows it.
  std::vector<v1::ScheduledProbeInfo> Describe() const;

 private:
  struct Entry {
    ScheduledProbeSpec spec;
    uint64_t runs = 0;
    absl::Duration next_due;
    EventLoop::TimerId timer = 0;
    std::optional<ProbeRegistry::ProbeId> running;
  };

  void Clear();  // loop thread
  void Arm(size_t index);
  void Due(size_t index, uint64_t generation);
  void Finished(size_t index, uint64_t generation, uint64_t run, RunOutcome outcome);

  EventLoop* const loop_;
  ProbeStarter* const service_;
  ScheduleObserver* const observer_;
  // Loop thread only.
  std::vector<Entry> entries_;
  uint64_t generation_ = 0;  // bumped by Set/Stop: callbacks of older ones are stale
  bool stopped_ = false;
  std::atomic<bool> stop_requested_{false};

  mutable absl::Mutex names_mu_;
  std::vector<v1::ScheduledProbeInfo> described_ ABSL_GUARDED_BY(names_mu_);
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SCHEDULE_SCHEDULER_H_
