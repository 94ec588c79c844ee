#ifndef NETPROBE_CLIENT_COMMANDS_LOCAL_TALLIES_H_
#define NETPROBE_CLIENT_COMMANDS_LOCAL_TALLIES_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "common/target_tally.h"
#include "netprobe/v1/common.pb.h"

namespace netprobe::client {

// What the client saw per target (by host and port), so Ctrl-C on a run
// still prints the classic tool's statistics: the agent's summaries do not
// come after a cancel. Ping and TCP connect; UDP echo keeps its own (jitter).
class LocalTallies {
 public:
  LocalTallies() = default;
  LocalTallies(const LocalTallies&) = delete;  // the index points into entries_
  LocalTallies& operator=(const LocalTallies&) = delete;

  // One answer or attempt of `target`; `rtt` for an OK one.
  void Add(const v1::Endpoint& target, v1::Outcome outcome,
           std::optional<absl::Duration> rtt, bool duplicate = false);
  // An AttemptSent of `target`: the attempt counts as sent, answered or not,
  // as ping's "transmitted" counts the request still waiting for its reply.
  void Sent(const v1::Endpoint& target);
  // fping's running figures of `target` after its latest outcome: the mean
  // RTT (none before a reply) and the loss over the outcomes so far.
  struct Running {
    std::optional<absl::Duration> avg;
    double loss_percent = 0;
  };
  Running RunningOf(const v1::Endpoint& target) const;
  // The agent's summary of `target` arrived: it is not summed up again.
  void Summarized(const v1::Endpoint& target);
  // One summary per target seen and not Summarized, in host:port order.
  std::vector<v1::TargetSummary> Summaries() const;

 private:
  struct Entry {
    v1::Endpoint target;
    TargetTally tally;
    uint64_t sent = 0;  // AttemptSent events
  };
  static std::string Key(const v1::Endpoint& target);
  // The entry of `target`, made on first use.
  Entry& EntryOf(const v1::Endpoint& target);
  std::map<std::string, Entry> entries_;  // in key order, for Summaries()
  // The same entries by key (map nodes stay put): a ping run looks one up
  // per event, thousands a second.
  absl::flat_hash_map<std::string, Entry*> index_;
  std::set<std::string> summarized_;
};

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_LOCAL_TALLIES_H_
