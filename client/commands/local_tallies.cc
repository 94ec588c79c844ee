#include "client/commands/local_tallies.h"

#include "absl/strings/str_cat.h"

namespace netprobe::client {

LocalTallies::Entry& LocalTallies::EntryOf(const v1::Endpoint& target) {
  std::string key = Key(target);
  auto found = index_.find(key);
  if (found != index_.end()) return *found->second;
  Entry& entry = entries_[key];
  entry.target = target;
  index_.emplace(std::move(key), &entry);
  return entry;
}

void LocalTallies::Add(const v1::Endpoint& target, v1::Outcome outcome,
                       std::optional<absl::Duration> rtt, bool duplicate) {
  Entry& entry = EntryOf(target);
  if (duplicate) {
    entry.tally.RecordDuplicate();
  } else {
    entry.tally.Record(outcome, outcome == v1::OUTCOME_OK ? rtt : std::nullopt);
  }
}

void LocalTallies::Sent(const v1::Endpoint& target) {
  Entry& entry = EntryOf(target);
  ++entry.sent;
}

LocalTallies::Running LocalTallies::RunningOf(const v1::Endpoint& target) const {
  Running out;
  auto it = index_.find(Key(target));
  if (it == index_.end()) return out;
  const TargetTally& tally = it->second->tally;
  out.avg = tally.rtt_mean();
  out.loss_percent = tally.loss_percent();
  return out;
}

std::string LocalTallies::Key(const v1::Endpoint& target) {
  return absl::StrCat(target.host(), " ", target.port());
}

void LocalTallies::Summarized(const v1::Endpoint& target) {
  summarized_.insert(Key(target));
}

std::vector<v1::TargetSummary> LocalTallies::Summaries() const {
  std::vector<v1::TargetSummary> out;
  for (const auto& [key, entry] : entries_) {
    if (summarized_.count(key) > 0) continue;
    v1::TargetSummary summary;
    *summary.mutable_target() = entry.target;
    entry.tally.Fill(&summary);
    CountAnnouncedAttempts(entry.sent, &summary);
    out.push_back(std::move(summary));
  }
  return out;
}

}  // namespace netprobe::client
