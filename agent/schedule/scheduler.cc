#include "agent/schedule/scheduler.h"

#include <set>
#include <tuple>

#include "agent/net/monotonic_clock.h"
#include "agent/schedule/fixed_rate.h"
#include "agent/schedule/single_run.h"
#include "common/proto_time.h"

namespace netprobe {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

}  // namespace

std::vector<v1::ScheduledResult> ResultsOf(const ScheduledProbeSpec& spec, uint64_t run,
                                           const RunOutcome& outcome) {
  v1::ScheduledResult base;
  base.set_probe(spec.name);
  base.set_kind(KindOf(spec.request));
  for (const auto& [name, value] : spec.labels) (*base.mutable_labels())[name] = value;
  base.set_run(run);
  ToProto(outcome.started, base.mutable_started());
  ToProto(outcome.duration, base.mutable_duration());
  if (!outcome.status.ok()) base.set_error(std::string(outcome.status.message()));

  std::vector<v1::ScheduledResult> results;
  std::set<std::string> reported;
  for (const v1::TargetSummary& summary : outcome.summaries) {
    v1::ScheduledResult result = base;
    *result.mutable_summary() = summary;
    result.set_success(Reached(outcome, summary));
    if (outcome.trace) *result.mutable_traceroute() = *outcome.trace;
    if (outcome.throughput) *result.mutable_throughput() = *outcome.throughput;
    reported.insert(TargetLabel(summary.target()));
    results.push_back(std::move(result));
  }
  for (const std::string& target : RequestTargets(spec.request)) {
    if (reported.count(target) > 0 || !outcome.summaries.empty()) continue;
    v1::ScheduledResult result = base;
    result.mutable_summary()->mutable_target()->set_host(target);
    if (result.error().empty()) result.set_error("the run ended without a summary");
    results.push_back(std::move(result));
  }
  return results;
}

void Scheduler::Set(std::vector<ScheduledProbeSpec> probes) {
  if (stop_requested_) return;
  std::vector<v1::ScheduledProbeInfo> described;
  for (const ScheduledProbeSpec& spec : probes) {
    v1::ScheduledProbeInfo& info = described.emplace_back();
    info.set_name(spec.name);
    info.set_kind(KindOf(spec.request));
    ToProto(spec.interval, info.mutable_interval());
    for (const std::string& target : RequestTargets(spec.request))
      info.add_targets(target);
    for (const auto& [key, value] : spec.labels) (*info.mutable_labels())[key] = value;
  }
  loop_->RunAndWait([this, &probes] {
    if (stopped_) return;
    // A probe whose labels or kind change is a new series: the old go.
    std::set<std::tuple<std::string, std::string, Labels>> kept;
    for (const ScheduledProbeSpec& spec : probes) {
      kept.insert({spec.name, KindOf(spec.request), spec.labels});
    }
    for (const Entry& entry : entries_) {
      if (kept.count({entry.spec.name, KindOf(entry.spec.request), entry.spec.labels}) ==
          0) {
        observer_->OnRemoved(entry.spec.name);
      }
    }
    Clear();
    const absl::Duration now = MonotonicNow();
    for (ScheduledProbeSpec& spec : probes) {
      Entry entry;
      entry.spec = std::move(spec);
      entry.next_due = now;
      entries_.push_back(std::move(entry));
    }
    for (size_t i = 0; i < entries_.size(); ++i) Arm(i);
  });
  absl::MutexLock lock(&names_mu_);
  described_ = std::move(described);
}

void Scheduler::Stop() {
  if (stop_requested_.exchange(true)) return;
  loop_->RunAndWait([this] {
    stopped_ = true;
    Clear();
  });
  absl::MutexLock lock(&names_mu_);
  described_.clear();
}

std::vector<std::string> Scheduler::names() const {
  absl::MutexLock lock(&names_mu_);
  std::vector<std::string> names;
  for (const v1::ScheduledProbeInfo& info : described_) names.push_back(info.name());
  return names;
}

std::vector<v1::ScheduledProbeInfo> Scheduler::Describe() const {
  absl::MutexLock lock(&names_mu_);
  return described_;
}

void Scheduler::Clear() {
  ++generation_;
  for (Entry& entry : entries_) {
    if (entry.timer != 0) loop_->Cancel(entry.timer);
    if (entry.running) service_->Cancel(*entry.running);
  }
  entries_.clear();
}

void Scheduler::Arm(size_t index) {
  Entry& entry = entries_[index];
  entry.timer = loop_->RunAt(entry.next_due, [this, index, generation = generation_] {
    Due(index, generation);
  });
}

void Scheduler::Due(size_t index, uint64_t generation) {
  if (generation != generation_) return;
  Entry& entry = entries_[index];
  entry.timer = 0;
  // Fixed rate: the next run is due an interval after this one was, however
  // late this one fired; runs missed meanwhile are skipped, not bunched.
  entry.next_due = NextDue(entry.next_due, entry.spec.interval, MonotonicNow());
  Arm(index);
  if (entry.running) {
    observer_->OnSkipped(entry.spec);
    return;
  }
  const uint64_t run = ++entry.runs;
  const Caller caller = SchedulerCaller(entry.spec.name);
  const ScheduledProbeSpec* spec = &entry.spec;
  absl::StatusOr<ProbeRegistry::ProbeId> id = StartRun(
      service_, caller, entry.spec.request,
      [this, spec, generation](const v1::Endpoint& target, absl::Duration rtt) {
        if (generation == generation_) observer_->OnRtt(*spec, TargetLabel(target), rtt);
      },
      [this, index, generation, run](RunOutcome outcome) {
        Finished(index, generation, run, std::move(outcome));
      });
  if (id.ok()) {
    entry.running = *id;
    return;
  }
  RunOutcome failed;
  failed.status = id.status();
  failed.started = absl::Now();
  observer_->OnResults(entry.spec, ResultsOf(entry.spec, run, failed),
                       absl::ZeroDuration());
}

void Scheduler::Finished(size_t index, uint64_t generation, uint64_t run,
                         RunOutcome outcome) {
  if (generation != generation_) return;
  Entry& entry = entries_[index];
  entry.running.reset();
  observer_->OnResults(entry.spec, ResultsOf(entry.spec, run, outcome), outcome.duration);
}

}  // namespace netprobe
