#ifndef NETPROBE_CLIENT_COMMAND_CONTEXT_H_
#define NETPROBE_CLIENT_COMMAND_CONTEXT_H_

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/option_parser.h"

namespace netprobe::v1 {
class TargetSummary;
}  // namespace netprobe::v1

namespace netprobe::client {

// What every sub-command gets: the parsed options (its own and the global
// ones), a channel to the agent, and where to write.
struct CommandContext {
  std::string agent;  // the address as given, for messages
  // The agent's label: NAME of --agent NAME=ADDR, else the address. Capture's
  // -w FILE replaces {agent} in FILE with it.
  std::string agent_name;
  std::shared_ptr<grpc::Channel> channel;
  bool tls = false;  // --tls-ca given: for error messages
  bool json = false;
  // --timeout: deadline of the whole RPC; unset: the command's default.
  std::optional<absl::Duration> timeout;
  ParsedOptions options;
  FILE* out = stdout;
  FILE* err = stderr;
  // Set when the command runs on many agents: ping, tcp and udp call it with
  // each TargetSummary they show (the agent's, or the client's own after
  // Ctrl-C), for the table by agent at the end. May be called from the
  // command's thread; the callee synchronizes.
  std::function<void(const v1::TargetSummary&)> on_summary;
  // Set when the command runs on many agents: ReportRpcError calls it with
  // the failed call's status, for the JSON line of a failed agent.
  std::function<void(const grpc::Status&)> on_rpc_error;

  // Sets the deadline on `context`: --timeout, else `fallback` (none when
  // fallback is infinite).
  void ApplyDeadline(grpc::ClientContext* context, absl::Duration fallback) const;
};

// Prints "netprobe: <what>: <status message>" in words a person can act on and
// returns the exit code for it.
int ReportRpcError(const CommandContext& ctx, const char* what,
                   const grpc::Status& status);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMAND_CONTEXT_H_
