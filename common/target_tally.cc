#include "common/target_tally.h"

#include <algorithm>
#include <cmath>

#include "common/proto_time.h"

namespace netprobe {
namespace {

// Nearest-rank percentile of sorted samples (p in (0, 100]).
int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * sorted.size()));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

void DurationSamples::Add(absl::Duration d) {
  const int64_t ns = absl::ToInt64Nanoseconds(d);
  ++count_;
  if (count_ == 1 || ns < min_ns_) min_ns_ = ns;
  if (count_ == 1 || ns > max_ns_) max_ns_ = ns;
  const long double delta = ns - mean_;
  mean_ += delta / count_;
  m2_ += delta * (ns - mean_);
  if (kept_ns_.size() < kMaxKept) {
    kept_ns_.push_back(ns);
    return;
  }
  // Reservoir sampling (Algorithm R) with a xorshift generator.
  random_state_ ^= random_state_ << 13;
  random_state_ ^= random_state_ >> 7;
  random_state_ ^= random_state_ << 17;
  const uint64_t slot = random_state_ % count_;
  if (slot < kMaxKept) kept_ns_[slot] = ns;
}

void DurationSamples::Fill(v1::DurationStats* out) const {
  if (count_ == 0) return;
  std::vector<int64_t> sorted = kept_ns_;
  std::sort(sorted.begin(), sorted.end());
  const long double stddev = std::sqrt(m2_ / count_);
  out->set_count(count_);
  ToProto(absl::Nanoseconds(min_ns_), out->mutable_min());
  ToProto(absl::Nanoseconds(static_cast<int64_t>(std::llround(mean_))),
          out->mutable_avg());
  ToProto(absl::Nanoseconds(max_ns_), out->mutable_max());
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

void TargetTally::RecordTransit(absl::Duration transit) {
  if (transits_++ > 0) {
    const double d = std::abs(absl::ToDoubleNanoseconds(transit - last_transit_));
    jitter_ns_ += (d - jitter_ns_) / 16.0;
  }
  last_transit_ = transit;
}

void TargetTally::Fill(v1::TargetSummary* out) const {
  out->set_sent(sent_);
  out->set_received(received_);
  out->set_loss_percent(loss_percent());
  out->set_errors(errors_);
  out->set_duplicates(duplicates_);
  out->set_reordered(reordered_);
  out->set_late(late_);
  out->set_corrupted(corrupted_);
  if (rtt_.count() > 0) rtt_.Fill(out->mutable_rtt());
  if (transits_ >= 2) {
    ToProto(absl::Nanoseconds(std::llround(jitter_ns_)), out->mutable_jitter());
  }
  for (const auto& [outcome, n] : outcomes_) {
    (*out->mutable_outcomes())[v1::Outcome_Name(outcome)] = n;
  }
}

void CountAnnouncedAttempts(uint64_t sent, v1::TargetSummary* summary) {
  if (sent <= summary->sent()) return;
  summary->set_sent(sent);
  summary->set_loss_percent(100.0 * (sent - summary->received()) / sent);
}

}  // namespace netprobe
