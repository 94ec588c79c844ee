#ifndef NETPROBE_AGENT_SERVER_RESULTS_SERVICE_H_
#define NETPROBE_AGENT_SERVER_RESULTS_SERVICE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/net/event_loop.h"
#include "agent/policy/caller_slots.h"
#include "agent/policy/policy.h"
#include "agent/schedule/results_hub.h"
#include "netprobe/v1/schedule.grpc.pb.h"

namespace netprobe {

// The Results service: WatchResults streams scheduled results from the hub.
// The policy decides who may watch (the "WatchResults" right of
// Policy::kWatchResults, PERMISSION_DENIED naming the rule otherwise), and a
// watch counts against the caller's concurrent_probes_per_client.
class ResultsService final : public v1::Results::CallbackService {
 public:
  // `names` lists the scheduled probes now configured (thread-safe).
  // `policy` may be null: the default policy (tests). `slots` is shared with
  // ProbesService; null: a table of its own.
  ResultsService(EventLoop* loop, ResultsHub* hub,
                 std::function<std::vector<std::string>()> names,
                 PolicyHolder* policy = nullptr,
                 std::shared_ptr<CallerSlots> slots = nullptr)
      : loop_(loop),
        hub_(hub),
        names_(std::move(names)),
        policy_(policy),
        slots_(slots != nullptr ? std::move(slots) : CallerSlots::Create()) {}

  grpc::ServerWriteReactor<v1::WatchResultsEvents>* WatchResults(
      grpc::CallbackServerContext* context,
      const v1::WatchResultsRequest* request) override;

 private:
  EventLoop* const loop_;
  ResultsHub* const hub_;
  const std::function<std::vector<std::string>()> names_;
  PolicyHolder* const policy_;
  const std::shared_ptr<CallerSlots> slots_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_RESULTS_SERVICE_H_
