#include "client/commands/info_command.h"

#include "client/exit_codes.h"
#include "client/interrupt.h"
#include "client/output/info_text.h"
#include "client/output/json_lines.h"
#include "netprobe/v1/agent.grpc.pb.h"

namespace netprobe::client {

std::vector<OptionSpec> InfoOptions() { return {}; }

int RunInfo(const CommandContext& ctx) {
  if (!ctx.options.positional().empty()) {
    std::fprintf(ctx.err, "netprobe: info: unexpected argument '%s'\n",
                 ctx.options.positional().front().c_str());
    return kExitBadArguments;
  }
  auto stub = v1::Agent::NewStub(ctx.channel);
  grpc::ClientContext context;
  ctx.ApplyDeadline(&context, absl::Seconds(10));
  v1::AgentInfo info;
  grpc::Status status;
  {
    CancelOnInterrupt interrupt(&context);
    status = stub->GetInfo(&context, v1::GetInfoRequest(), &info);
    if (interrupt.interrupted()) return kExitInterrupted;
  }
  if (!status.ok()) return ReportRpcError(ctx, "info", status);
  if (ctx.json) {
    WriteJsonLine(ctx.out, info);
  } else {
    const std::string text = FormatAgentInfo(info);
    std::fwrite(text.data(), 1, text.size(), ctx.out);
  }
  return kExitOk;
}

}  // namespace netprobe::client
