#include "agent/server/reset_budget.h"

namespace netprobe {

bool ResetBudget::Record(absl::string_view peer, bool reset, absl::Time now) {
  if (!reset) {
    auto it = by_peer_.find(peer);
    if (it != by_peer_.end()) it->second.last_call = now;
    return false;
  }
  auto [it, added] = by_peer_.try_emplace(peer);
  Connection& connection = it->second;
  if (added || now - connection.window_start >= window_) {
    connection.window_start = now;
    connection.resets = 0;
    connection.over = false;  // a descriptor's number may name a new connection now
  }
  connection.last_call = now;
  if (connection.over) return false;  // being ended; its last calls drain
  if (++connection.resets <= max_resets_) return false;
  connection.over = true;
  return true;
}

void ResetBudget::Sweep(absl::Time now) {
  absl::erase_if(by_peer_, [this, now](const auto& entry) {
    return now - entry.second.last_call >= window_;
  });
}

}  // namespace netprobe
