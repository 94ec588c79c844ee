#include "agent/schedule/results_hub.h"

#include <algorithm>

#include "common/proto_time.h"

namespace netprobe {
namespace {

v1::WatchResultsEvent EndEvent() {
  v1::WatchResultsEvent event;
  event.mutable_end()->set_reason(v1::StreamEnd::REASON_AGENT_SHUTDOWN);
  ToProto(absl::Now(), event.mutable_end()->mutable_time());
  return event;
}

// Ends the streams with a StreamEnd and OK, on the loop thread: Emit() is
// loop-thread only (the bridge defers its write start on the loop), and
// EndAll() and Subscribe() are called from others (shutdown, gRPC).
void EndOnLoop(EventLoop* loop,
               std::vector<std::shared_ptr<ResultsHub::Bridge>> bridges) {
  loop->Post([bridges = std::move(bridges)] {
    for (const auto& bridge : bridges) {
      bridge->Emit(EndEvent());
      bridge->Finish(absl::OkStatus());
    }
  });
}

}  // namespace

std::shared_ptr<ResultsHub::Bridge> ResultsHub::Subscribe(
    std::vector<std::string> probes) {
  auto bridge = std::make_shared<Bridge>(loop_, queue_);
  bool ended;
  {
    absl::MutexLock lock(&mu_);
    ended = ended_;
    if (!ended) subscribers_.push_back({bridge, std::move(probes)});
  }
  if (ended) EndOnLoop(loop_, {bridge});
  return bridge;
}

std::vector<ResultsHub::Subscriber> ResultsHub::Live() const {
  absl::MutexLock lock(&mu_);
  // Streams that are done are forgotten here; their drops stay counted.
  auto gone = std::remove_if(subscribers_.begin(), subscribers_.end(),
                             [](const Subscriber& s) { return s.bridge.expired(); });
  subscribers_.erase(gone, subscribers_.end());
  return subscribers_;
}

void ResultsHub::Publish(const v1::ScheduledResult& result) {
  // Bridges are called without the hub's lock held: no nested locks.
  for (const Subscriber& subscriber : Live()) {
    if (!subscriber.probes.empty() &&
        std::find(subscriber.probes.begin(), subscriber.probes.end(), result.probe()) ==
            subscriber.probes.end()) {
      continue;
    }
    std::shared_ptr<Bridge> bridge = subscriber.bridge.lock();
    if (bridge == nullptr) continue;
    const uint64_t before = bridge->dropped_total();
    v1::WatchResultsEvent event;
    *event.mutable_result() = result;
    if (!bridge->Emit(std::move(event)) && bridge->dropped_total() > before) {
      absl::MutexLock lock(&mu_);
      ++dropped_;
    }
  }
}

void ResultsHub::EndAll() {
  std::vector<Subscriber> live = Live();
  {
    absl::MutexLock lock(&mu_);
    ended_ = true;
  }
  std::vector<std::shared_ptr<Bridge>> bridges;
  for (const Subscriber& subscriber : live) {
    if (std::shared_ptr<Bridge> bridge = subscriber.bridge.lock()) {
      bridges.push_back(std::move(bridge));
    }
  }
  EndOnLoop(loop_, std::move(bridges));
}

size_t ResultsHub::subscribers() const { return Live().size(); }

uint64_t ResultsHub::dropped_total() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

}  // namespace netprobe
