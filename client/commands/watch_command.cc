#include "client/commands/watch_command.h"

#include "absl/strings/str_cat.h"
#include "client/exit_codes.h"
#include "client/interrupt.h"
#include "client/output/json_lines.h"
#include "client/output/tcp_text.h"
#include "client/output/watch_text.h"
#include "client/stream_end_exit.h"
#include "netprobe/v1/schedule.grpc.pb.h"

namespace netprobe::client {

std::vector<OptionSpec> WatchOptions() {
  return {
      {'c', "count", "N",
       "stop after N results (a result per target per run; default 0: until Ctrl-C)"},
  };
}

int RunWatch(const CommandContext& ctx) {
  auto count = ctx.options.GetUint("count", 0, 1'000'000'000);
  if (!count.ok()) {
    std::fprintf(ctx.err, "netprobe watch: %s\n",
                 std::string(count.status().message()).c_str());
    return kExitBadArguments;
  }
  const uint64_t limit = count->value_or(0);
  v1::WatchResultsRequest request;
  for (const std::string& probe : ctx.options.positional()) request.add_probes(probe);

  grpc::ClientContext context;
  ctx.ApplyDeadline(&context, absl::InfiniteDuration());
  CancelOnInterrupt interrupt(&context);
  auto stub = v1::Results::NewStub(ctx.channel);
  auto reader = stub->WatchResults(&context, request);
  v1::WatchResultsEvents batch;
  StreamEndExit end_exit;
  uint64_t results = 0, failed = 0;
  bool enough = false;
  while (!enough && reader->Read(&batch)) {
    for (const v1::WatchResultsEvent& event : batch.events()) {
      if (ctx.json) WriteJsonLine(ctx.out, event);
      std::string text;
      if (event.has_result()) {
        ++results;
        if (!event.result().success()) ++failed;
        text = FormatScheduledResult(event.result());
      } else if (event.has_dropped()) {
        text = FormatDropped(event.dropped());
      } else if (event.has_end()) {
        end_exit.Note(event.end());
        text = FormatStreamEnd(event.end());
      }
      if (!ctx.json) std::fwrite(text.data(), 1, text.size(), ctx.out);
      if (limit != 0 && results == limit) {
        enough = true;
        break;
      }
    }
    std::fflush(ctx.out);
  }
  if (enough) context.TryCancel();
  const grpc::Status status = reader->Finish();
  if (interrupt.interrupted()) return kExitInterrupted;
  // A watch has no end of its own: --timeout is how a script bounds it.
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && ctx.timeout) {
    return kExitDeadline;
  }
  if (!enough && !status.ok()) return ReportRpcError(ctx, "watch", status);
  // -c N: 1 when any of the N results failed, as ping's exit code.
  return end_exit.Exit(failed > 0 && limit != 0 ? kExitProbeFailed : kExitOk);
}

}  // namespace netprobe::client
