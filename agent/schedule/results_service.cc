#include "agent/schedule/results_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/probes/request_fields.h"
#include "agent/server/stream_reactor.h"

namespace netprobe {

grpc::ServerWriteReactor<v1::WatchResultsEvents>* ResultsService::WatchResults(
    grpc::CallbackServerContext* /*context*/, const v1::WatchResultsRequest* request) {
  using Reactor = StreamReactor<v1::WatchResultsEvent, v1::WatchResultsEvents>;
  const std::vector<std::string> names = names_();
  for (int i = 0; i < request->probes_size(); ++i) {
    if (std::find(names.begin(), names.end(), request->probes(i)) == names.end()) {
      return Reactor::Rejected(
          loop_, absl::NotFoundError(absl::StrCat(
                     "probes[", i, "]: no scheduled probe named ",
                     Quoted(request->probes(i)), " (configured: ",
                     names.empty() ? "none" : absl::StrJoin(names, ", "), ")")));
    }
  }
  auto bridge = hub_->Subscribe({request->probes().begin(), request->probes().end()});
  return new Reactor(std::move(bridge), [] {});
}

}  // namespace netprobe
