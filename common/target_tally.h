#ifndef NETPROBE_COMMON_TARGET_TALLY_H_
#define NETPROBE_COMMON_TARGET_TALLY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "netprobe/v1/common.pb.h"

namespace netprobe {

// min/avg/max/stddev (exact, over every sample) and nearest-rank percentiles
// of a set of durations. Percentiles are exact up to kMaxKept samples and come
// from a uniform reservoir sample of that size beyond, so runs without an end
// (ping -c 0) keep bounded memory.
class DurationSamples {
 public:
  static constexpr size_t kMaxKept = 100000;

  void Add(absl::Duration d);
  uint64_t count() const { return count_; }
  // The running mean; zero when there are no samples.
  absl::Duration mean() const { return absl::Nanoseconds(static_cast<int64_t>(mean_)); }
  // Leaves `out` untouched when there are no samples.
  void Fill(v1::DurationStats* out) const;

 private:
  uint64_t count_ = 0;
  int64_t min_ns_ = 0, max_ns_ = 0;
  long double mean_ = 0, m2_ = 0;  // Welford's running mean and sum of squares
  std::vector<int64_t> kept_ns_;
  uint64_t random_state_ = 0x9e3779b97f4a7c15ull;  // reservoir choice, deterministic
};

// The per-target counts every probe reports in its TargetSummary.
class TargetTally {
 public:
  // One finished attempt. `rtt` is recorded for OUTCOME_OK only.
  void Record(v1::Outcome outcome, std::optional<absl::Duration> rtt = std::nullopt);
  // An attempt sent whose answer was still awaited when the run was cut
  // short (deadline, shutdown): sent and lost, with no outcome, as ping -w.
  void RecordUnanswered() { ++sent_; }
  void RecordDuplicate() { ++duplicates_; }
  void RecordReordered() { ++reordered_; }
  void RecordLate() { ++late_; }
  void RecordCorrupted() { ++corrupted_; }
  // RFC 3550 interarrival jitter, fed with each reply's transit time (the RTT
  // for echoes) in arrival order: J += (|D| - J) / 16, D the difference of
  // consecutive transit times. Reported once two replies have arrived.
  void RecordTransit(absl::Duration transit);

  uint64_t sent() const { return sent_; }
  uint64_t received() const { return received_; }
  // The mean RTT of the OK attempts so far; none before the first.
  std::optional<absl::Duration> rtt_mean() const {
    if (rtt_.count() == 0) return std::nullopt;
    return rtt_.mean();
  }
  // 100 * (sent - received) / sent; 0 before the first attempt.
  double loss_percent() const {
    return sent_ == 0 ? 0.0 : 100.0 * static_cast<double>(sent_ - received_) / sent_;
  }
  // Fills sent, received, loss, errors, duplicates, reordered, rtt, outcomes.
  void Fill(v1::TargetSummary* out) const;

 private:
  uint64_t sent_ = 0, received_ = 0, errors_ = 0, duplicates_ = 0, reordered_ = 0,
           late_ = 0, corrupted_ = 0;
  std::map<v1::Outcome, uint64_t> outcomes_;
  uint64_t transits_ = 0;
  absl::Duration last_transit_;
  double jitter_ns_ = 0;
  DurationSamples rtt_;
};

// A client's summary of a run it stopped itself: `sent` attempts were
// announced (AttemptSent), some still waiting for their outcome; they count
// as sent and lost, as ping's "transmitted" does.
void CountAnnouncedAttempts(uint64_t sent, v1::TargetSummary* summary);

}  // namespace netprobe

#endif  // NETPROBE_COMMON_TARGET_TALLY_H_
