#ifndef NETPROBE_AGENT_SCHEDULE_RESULTS_SERVICE_H_
#define NETPROBE_AGENT_SCHEDULE_RESULTS_SERVICE_H_

#include <functional>
#include <string>
#include <vector>

#include "agent/net/event_loop.h"
#include "agent/schedule/results_hub.h"
#include "netprobe/v1/schedule.grpc.pb.h"

namespace netprobe {

// The Results service: WatchResults streams scheduled results from the hub.
// Open to every caller the transport lets in (TLS, tokens), like GetInfo.
class ResultsService final : public v1::Results::CallbackService {
 public:
  // `names` lists the scheduled probes now configured (thread-safe).
  ResultsService(EventLoop* loop, ResultsHub* hub,
                 std::function<std::vector<std::string>()> names)
      : loop_(loop), hub_(hub), names_(std::move(names)) {}

  grpc::ServerWriteReactor<v1::WatchResultsEvents>* WatchResults(
      grpc::CallbackServerContext* context,
      const v1::WatchResultsRequest* request) override;

 private:
  EventLoop* const loop_;
  ResultsHub* const hub_;
  const std::function<std::vector<std::string>()> names_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SCHEDULE_RESULTS_SERVICE_H_
