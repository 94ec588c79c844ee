#include "client/command_context.h"

#include "client/exit_codes.h"

namespace netprobe::client {

void CommandContext::ApplyDeadline(grpc::ClientContext* context,
                                   absl::Duration fallback) const {
  const absl::Duration limit = timeout.value_or(fallback);
  if (limit == absl::InfiniteDuration()) return;
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoNanoseconds(limit));
}

int ReportRpcError(const CommandContext& ctx, const char* what,
                   const grpc::Status& status) {
  const int code = ExitCodeFor(status);
  if (code == kExitAgentUnreachable) {
    std::fprintf(ctx.err, "netprobe: %s: agent %s unreachable: %s\n", what,
                 ctx.agent.c_str(), status.error_message().c_str());
  } else {
    std::fprintf(ctx.err, "netprobe: %s: %s\n", what, status.error_message().c_str());
  }
  return code;
}

}  // namespace netprobe::client
