#ifndef NETPROBE_AGENT_PROBES_PROBE_REGISTRY_H_
#define NETPROBE_AGENT_PROBES_PROBE_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/net/event_loop.h"
#include "agent/probes/probe.h"

namespace netprobe {

// Owns the running probes; lives on the event loop. Public methods may be
// called from any thread: they post to the loop, in order.
class ProbeRegistry {
 public:
  using ProbeId = uint64_t;
  // Builds the probe on the loop thread. The probe calls `done` (on the loop)
  // once it has finished its sink; the registry then destroys it.
  using Factory = std::function<std::unique_ptr<Probe>(std::function<void()> done)>;

  explicit ProbeRegistry(EventLoop* loop) : loop_(loop) {}

  // An id for a probe about to be launched, so its stream can name it (and
  // be cancelled) first. REQUIRES: the id is passed to Launch() once; until
  // then the registry remembers it (a few bytes).
  ProbeId NewId();
  // Builds and starts a probe. After StopAll(kAgentShutdown), a launched probe
  // is stopped at once with that reason. A probe cancelled before its launch
  // ran on the loop is never built: its factory (and what it holds) is
  // destroyed, and nothing is sent. A finite `stop_after` stops the probe
  // with kDeadline that long after its launch, unless it ended before.
  void Launch(ProbeId id, Factory factory,
              absl::Duration stop_after = absl::InfiniteDuration());
  // Stops one probe because its client is gone, whether it runs already or is
  // still to be launched. Unknown or ended ids are fine.
  void Cancel(ProbeId id);
  // Stops every probe, and every later one, with `reason`.
  void StopAll(StopReason reason);

  // Probes currently alive (approximate from other threads).
  size_t active() const { return active_.load(); }
  // Ids issued by NewId() whose launch has not run on the loop yet (for
  // tests and leak checks).
  size_t pending_launches() const;

 private:
  void Erase(ProbeId id);

  EventLoop* const loop_;
  std::atomic<ProbeId> next_id_{1};
  std::atomic<size_t> active_{0};
  // Ids from NewId() not yet launched on the loop, each with whether it was
  // cancelled meanwhile. Bounded by the launches in flight.
  mutable absl::Mutex pending_mu_;
  std::unordered_map<ProbeId, bool> pending_ ABSL_GUARDED_BY(pending_mu_);
  // Loop thread only.
  std::unordered_map<ProbeId, std::unique_ptr<Probe>> probes_;
  std::unordered_map<ProbeId, EventLoop::TimerId> deadlines_;
  bool shutting_down_ = false;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_PROBE_REGISTRY_H_
