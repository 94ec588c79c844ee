#include "agent/server/results_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/probes/request_fields.h"
#include "agent/server/caller.h"
#include "agent/server/stream_reactor.h"

namespace netprobe {

grpc::ServerWriteReactor<v1::WatchResultsEvents>* ResultsService::WatchResults(
    grpc::CallbackServerContext* context, const v1::WatchResultsRequest* request) {
  using Reactor = StreamReactor<v1::WatchResultsEvent, v1::WatchResultsEvents>;
  const Caller caller = CallerOf(*context);
  const std::shared_ptr<const Policy> policy =
      policy_ != nullptr ? policy_->Get() : Policy::Default();
  if (absl::Status allowed = policy->CheckProbe(caller, Policy::kWatchResults);
      !allowed.ok()) {
    return Reactor::Rejected(loop_, std::move(allowed));
  }
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
  absl::StatusOr<std::shared_ptr<void>> slot =
      slots_->Take(caller.Key(), policy->LimitsFor(caller));
  if (!slot.ok()) return Reactor::Rejected(loop_, slot.status());
  auto bridge = hub_->Subscribe({request->probes().begin(), request->probes().end()});
  // The slot is held until the reactor is done (it owns this callback).
  return new Reactor(std::move(bridge), [slot = *std::move(slot)] {});
}

}  // namespace netprobe
