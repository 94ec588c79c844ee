#ifndef NETPROBE_CLIENT_COMMANDS_CADENCE_ARGS_H_
#define NETPROBE_CLIENT_COMMANDS_CADENCE_ARGS_H_

#include "absl/status/status.h"
#include "common/option_parser.h"
#include "common/proto_time.h"

namespace netprobe::client {

// -c/--count (min_count..max_count; 0, where allowed, runs until
// interrupted), -i/--interval and -W/--wait into a request with `count`,
// `interval` and `timeout` fields (ping, tcp, udp). Options not given leave
// the agent's defaults.
template <typename Request>
absl::Status ApplyCadenceArgs(const ParsedOptions& options, uint64_t min_count,
                              uint64_t max_count, Request* request) {
  auto count = options.GetUint("count", min_count, max_count);
  if (!count.ok()) return count.status();
  if (*count) request->set_count(static_cast<uint32_t>(**count));
  auto interval = options.GetDuration("interval");
  if (!interval.ok()) return interval.status();
  if (*interval) ToProto(**interval, request->mutable_interval());
  auto wait = options.GetDuration("wait");
  if (!wait.ok()) return wait.status();
  if (*wait) ToProto(**wait, request->mutable_timeout());
  return absl::OkStatus();
}

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_CADENCE_ARGS_H_
