#ifndef NETPROBE_AGENT_PROBES_TARGET_TALLY_H_
#define NETPROBE_AGENT_PROBES_TARGET_TALLY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "netprobe/v1/common.pb.h"

namespace netprobe {

// min/avg/max/stddev and nearest-rank percentiles of a set of durations.
// Keeps every sample (requests cap their attempts, so memory is bounded).
class DurationSamples {
 public:
  void Add(absl::Duration d) { samples_ns_.push_back(absl::ToInt64Nanoseconds(d)); }
  size_t count() const { return samples_ns_.size(); }
  // Leaves `out` untouched when there are no samples.
  void Fill(v1::DurationStats* out) const;

 private:
  std::vector<int64_t> samples_ns_;
};

// The per-target counts every probe reports in its TargetSummary.
class TargetTally {
 public:
  // One finished attempt. `rtt` is recorded for OUTCOME_OK only.
  void Record(v1::Outcome outcome, std::optional<absl::Duration> rtt = std::nullopt);
  void RecordDuplicate() { ++duplicates_; }
  void RecordReordered() { ++reordered_; }

  uint64_t sent() const { return sent_; }
  uint64_t received() const { return received_; }
  // Fills sent, received, loss, errors, duplicates, reordered, rtt, outcomes.
  void Fill(v1::TargetSummary* out) const;

 private:
  uint64_t sent_ = 0, received_ = 0, errors_ = 0, duplicates_ = 0, reordered_ = 0;
  std::map<v1::Outcome, uint64_t> outcomes_;
  DurationSamples rtt_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TARGET_TALLY_H_
