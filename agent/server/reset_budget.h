#ifndef NETPROBE_AGENT_SERVER_RESET_BUDGET_H_
#define NETPROBE_AGENT_SERVER_RESET_BUDGET_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace netprobe {

// The HTTP/2 rapid-reset defence (CVE-2023-44487) of gRPC 1.51, which has
// none: a connection whose client resets (cancels) more than `max_resets`
// calls within `window` is abusive and is to be ended. Each reset call
// costs the agent about 20 KB until gRPC gets round to freeing it, and a
// flooding client resets thousands a second; a client that cancels now and
// then (Ctrl-C, a deadline) stays far below. Fixed windows per connection,
// keyed by gRPC's peer string ("ipv4:198.18.0.1:40000", "fd:12").
// Not thread-safe.
class ResetBudget {
 public:
  ResetBudget(uint32_t max_resets, absl::Duration window)
      : max_resets_(max_resets), window_(window) {}

  // Counts a finished call of `peer`. True exactly once per connection: for
  // the reset that exceeds the budget (the caller ends the connection).
  bool Record(absl::string_view peer, bool reset, absl::Time now);

  // Forgets connections quiet for a whole window (ended ones included).
  void Sweep(absl::Time now);
  // Forgets `peer`: a new connection now has its name (a unix connection's
  // "fd:N" is the number of a descriptor, reused after the old one closed),
  // and starts with a whole budget.
  void Forget(absl::string_view peer) { by_peer_.erase(peer); }

  size_t connections() const { return by_peer_.size(); }
  uint32_t max_resets() const { return max_resets_; }
  absl::Duration window() const { return window_; }

 private:
  struct Connection {
    absl::Time window_start;
    absl::Time last_call;
    uint32_t resets = 0;
    bool over = false;
  };
  const uint32_t max_resets_;
  const absl::Duration window_;
  absl::flat_hash_map<std::string, Connection> by_peer_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_RESET_BUDGET_H_
