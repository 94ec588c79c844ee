#include "agent/probes/target_tally.h"

#include <algorithm>
#include <cmath>

#include "agent/probes/proto_time.h"

namespace netprobe {
namespace {

// Nearest-rank percentile of sorted samples (p in (0, 100]).
int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * sorted.size()));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

void DurationSamples::Fill(v1::DurationStats* out) const {
  if (samples_ns_.empty()) return;
  std::vector<int64_t> sorted = samples_ns_;
  std::sort(sorted.begin(), sorted.end());
  long double sum = 0;
  for (int64_t v : sorted) sum += v;
  const long double mean = sum / sorted.size();
  long double squares = 0;
  for (int64_t v : sorted) squares += (v - mean) * (v - mean);
  const long double stddev = std::sqrt(squares / sorted.size());
  out->set_count(sorted.size());
  ToProto(absl::Nanoseconds(sorted.front()), out->mutable_min());
  ToProto(absl::Nanoseconds(static_cast<int64_t>(std::llround(mean))),
          out->mutable_avg());
  ToProto(absl::Nanoseconds(sorted.back()), out->mutable_max());
  ToProto(absl::Nanoseconds(static_cast<int64_t>(std::llround(stddev))),
          out->mutable_stddev());
  ToProto(absl::Nanoseconds(Percentile(sorted, 50)), out->mutable_p50());
  ToProto(absl::Nanoseconds(Percentile(sorted, 90)), out->mutable_p90());
  ToProto(absl::Nanoseconds(Percentile(sorted, 99)), out->mutable_p99());
}

void TargetTally::Record(v1::Outcome outcome, std::optional<absl::Duration> rtt) {
  ++sent_;
  ++outcomes_[outcome];
  if (outcome == v1::OUTCOME_OK) {
    ++received_;
    if (rtt) rtt_.Add(*rtt);
  } else if (outcome != v1::OUTCOME_TIMEOUT) {
    ++errors_;
  }
}

void TargetTally::Fill(v1::TargetSummary* out) const {
  out->set_sent(sent_);
  out->set_received(received_);
  out->set_loss_percent(sent_ == 0 ? 0.0 : 100.0 * (sent_ - received_) / sent_);
  out->set_errors(errors_);
  out->set_duplicates(duplicates_);
  out->set_reordered(reordered_);
  if (rtt_.count() > 0) rtt_.Fill(out->mutable_rtt());
  for (const auto& [outcome, n] : outcomes_) {
    (*out->mutable_outcomes())[v1::Outcome_Name(outcome)] = n;
  }
}

}  // namespace netprobe
