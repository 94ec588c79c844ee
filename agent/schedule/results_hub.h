#ifndef NETPROBE_AGENT_SCHEDULE_RESULTS_HUB_H_
#define NETPROBE_AGENT_SCHEDULE_RESULTS_HUB_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agent/net/event_loop.h"
#include "agent/probes/stream_bridge.h"
#include "netprobe/v1/schedule.pb.h"

namespace netprobe {

// Fans scheduled results out to the WatchResults streams. Each subscriber has
// its own bounded queue (a StreamBridge): one that reads too slowly loses
// results, counted and reported in its stream; the scheduler never waits.
// Thread-safe.
class ResultsHub {
 public:
  using Bridge = StreamBridge<v1::WatchResultsEvent, v1::WatchResultsEvents>;

  ResultsHub(EventLoop* loop, StreamLimits queue) : loop_(loop), queue_(queue) {}

  // A new subscriber to the results of the probes named in `probes` (all
  // when empty). The hub holds it weakly: it goes when its stream is done.
  std::shared_ptr<Bridge> Subscribe(std::vector<std::string> probes);

  // Queues `result` for every subscriber that wants it. Loop thread.
  void Publish(const v1::ScheduledResult& result);

  // Ends every open stream with a StreamEnd (agent shutdown), and every
  // later subscriber at once.
  void EndAll();

  size_t subscribers() const;
  // Results lost by slow subscribers, over the agent's life.
  uint64_t dropped_total() const;

 private:
  struct Subscriber {
    std::weak_ptr<Bridge> bridge;
    std::vector<std::string> probes;
  };
  std::vector<Subscriber> Live() const;

  EventLoop* const loop_;
  const StreamLimits queue_;  // each subscriber's
  mutable absl::Mutex mu_;
  mutable std::vector<Subscriber> subscribers_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  mutable uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SCHEDULE_RESULTS_HUB_H_
