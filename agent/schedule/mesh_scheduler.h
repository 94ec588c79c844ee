#ifndef NETPROBE_AGENT_SCHEDULE_MESH_SCHEDULER_H_
#define NETPROBE_AGENT_SCHEDULE_MESH_SCHEDULER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/net/blocking_pool.h"
#include "agent/net/event_loop.h"
#include "agent/probes/probe_registry.h"
#include "agent/schedule/mesh_config.h"
#include "agent/schedule/mesh_peers.h"
#include "agent/schedule/probe_starter.h"
#include "netprobe/v1/agent.pb.h"

namespace netprobe {

// One (peer, kind) of a finished round.
struct MeshPeerResult {
  std::string peer;
  std::string kind;
  uint32_t sent = 0;                 // attempts (count), started or not
  uint32_t answered = 0;             // attempts answered
  uint32_t errors = 0;               // attempts that could not start (also unanswered)
  std::vector<absl::Duration> rtts;  // of the answered attempts
};

// A finished round of a mesh entry.
struct MeshRound {
  std::vector<MeshPeerResult> results;  // one per peer and kind
  absl::Duration duration;
};

// Where a mesh's outcomes go (MeshMetrics). Called on the loop thread.
class MeshObserver {
 public:
  virtual ~MeshObserver() = default;
  // `spec` probes `peers` from now on; the series of `gone` go. Also called
  // when an entry is set (start, reload), `gone` then holding the peers of
  // the same entry before the reload that are no longer there.
  virtual void OnPeers(const MeshSpec& spec, const std::vector<std::string>& peers,
                       const std::vector<std::string>& gone) = 0;
  virtual void OnRound(const MeshSpec& spec, const MeshRound& round) = 0;
  // A round was due while the previous one still ran.
  virtual void OnSkipped(const MeshSpec& spec) = 0;
  // An expansion failed; the last good peers are kept.
  virtual void OnResolveError(const MeshSpec& spec, const absl::Status& error) = 0;
  // `name` left the schedule or changed (reload): all its series go.
  virtual void OnRemoved(const std::string& name) = 0;
};

// Runs a blocking job off the loop (the blocking pool's resolve queue in
// `caller`'s turn); skipped once `alive` has expired.
using BlockingRunner =
    std::function<void(const std::string& caller, std::weak_ptr<const void> alive,
                       std::function<void()> work)>;
BlockingRunner PoolRunner(BlockingPool* pool);

struct MeshSchedulerOptions {
  MeshHost host;            // the names' resolver and the agent's addresses
  BlockingRunner blocking;  // where ExpandMesh runs
  uint64_t seed = 0;        // of the rounds' rotation; 0: random
  size_t max_in_flight = kMeshInFlight;
  // Logs an expansion error (once per distinct reason); default stderr.
  std::function<void(const std::string&)> log;
};

// Runs the mesh entries: each interval (fixed rate, as Scheduler: a round
// due while the last still runs is skipped and reported) one round over the
// peers: peers x kinds x count attempts, each a probe of one attempt started
// through ProbeStarter::Start as SchedulerCaller(name) (the RPCs'
// validation and policy), spread evenly over the interval less the timeout
// in an order rotated at random each round, never closer than
// 1/max_attempts_per_second, at most max_in_flight at once (the rest wait
// their turn: deferred, never dropped). A round ends when every attempt has
// ended; then its results go to the observer. The names are expanded again
// on the blocking runner at a round's start (at most every
// resolve_interval); new peers apply once the running round has ended; a
// failed expansion keeps the last good peers. The state lives on the loop;
// the public methods are thread-safe.
class MeshScheduler {
 public:
  MeshScheduler(EventLoop* loop, ProbeStarter* starter, MeshObserver* observer,
                MeshSchedulerOptions options);
  // REQUIRES: Stop() was called while the loop ran (or nothing was Set).
  ~MeshScheduler() = default;

  // Replaces the mesh entries (start, SIGHUP), each with the peers it was
  // expanded to (MeshSpec::peers): rounds running are cancelled; entries
  // gone or changed are reported removed; each entry's first round starts
  // at once. Returns once applied.
  void Set(std::vector<MeshSpec> meshes);
  // Stops every timer and cancels the attempts in flight. Returns once
  // applied; later Set() and Stop() do nothing. REQUIRES: the loop runs.
  void Stop();

  // The entries as GetInfo shows them: kind "Mesh", targets the names,
  // peers the last expansion.
  std::vector<v1::ScheduledProbeInfo> Describe() const;

 private:
  struct Attempt {
    size_t peer = 0;  // index into Round::peers
    size_t kind = 0;  // index into the plan's kinds
  };
  // One attempt's fate, shared with its callbacks (which may run before
  // Start returns).
  struct Pending {
    bool ended = false;
    std::optional<ProbeRegistry::ProbeId> id;
  };
  struct Round {
    std::vector<std::string> peers;
    std::vector<Attempt> order;
    absl::Duration started;
    absl::Duration spacing;  // between the starts of consecutive attempts
    absl::Duration gap;      // at least this between two starts: 1/rate
    std::optional<absl::Duration> last_start;
    size_t next = 0;
    size_t in_flight = 0;
    EventLoop::TimerId timer = 0;
    std::vector<std::shared_ptr<Pending>> running;
    std::vector<MeshPeerResult> tally;  // peer * kinds + kind
  };
  struct Entry {
    MeshSpec spec;
    std::shared_ptr<char> alive = std::make_shared<char>();
    std::vector<std::string> peers;
    std::optional<std::vector<std::string>> pending_peers;
    bool resolving = false;
    std::optional<absl::Duration> last_resolve;
    std::set<std::string> logged;
    absl::Duration next_due;
    EventLoop::TimerId timer = 0;
    std::unique_ptr<Round> round;
  };

  void Clear();  // loop thread
  void Arm(size_t index);
  void Due(size_t index, uint64_t generation);
  void Resolve(size_t index);
  void Resolved(size_t index, absl::StatusOr<std::vector<std::string>> peers);
  void Adopt(Entry& entry, std::vector<std::string> peers);
  void StartRound(size_t index);
  void Pump(size_t index);
  void StartAttempt(size_t index, const Attempt& attempt);
  void AttemptEnded(size_t index);
  // The round's tally of `attempt`'s peer and kind. REQUIRES: a round runs.
  static MeshPeerResult& TallyOf(Entry& entry, const Attempt& attempt);
  void EndRound(size_t index);
  void Publish();  // loop thread: described_ from entries_

  EventLoop* const loop_;
  ProbeStarter* const starter_;
  MeshObserver* const observer_;
  MeshSchedulerOptions options_;
  std::mt19937_64 rng_;
  // Loop thread only.
  std::vector<std::unique_ptr<Entry>> entries_;
  uint64_t generation_ = 0;
  bool stopped_ = false;
  bool pumping_ = false;
  std::atomic<bool> stop_requested_{false};

  mutable absl::Mutex described_mu_;
  std::vector<v1::ScheduledProbeInfo> described_ ABSL_GUARDED_BY(described_mu_);
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SCHEDULE_MESH_SCHEDULER_H_
