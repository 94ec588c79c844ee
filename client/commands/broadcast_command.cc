#include "client/commands/broadcast_command.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/exit_codes.h"
#include "client/interrupt.h"
#include "client/output/broadcast_text.h"
#include "client/output/json_lines.h"
#include "client/output/tcp_text.h"
#include "client/stream_end_exit.h"
#include "common/proto_time.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe::client {

std::vector<OptionSpec> BroadcastOptions() {
  return {
      {'I', "interface", "IFACE", "send out of this interface (required)"},
      {'p', "port", "PORT", "destination UDP port, 1..65535 (required)"},
      {0, "address", "ADDR",
       "255.255.255.255 or a directed broadcast of IFACE (default: the latter)"},
      {'w', "window", "DURATION", "collect replies this long (default 2s, 1ms..60s)"},
      {0, "payload", "TEXT",
       "datagram payload (default \"netprobe broadcast\", at most 65507 bytes)"},
  };
}

absl::StatusOr<v1::BroadcastRequest> BuildBroadcastRequest(const ParsedOptions& options) {
  v1::BroadcastRequest request;
  if (!options.positional().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", options.positional().front(),
                     "': the address goes in --address, the interface in -I"));
  }
  if (!options.Has("interface") || options.Get("interface").empty()) {
    return absl::InvalidArgumentError("-I/--interface: required (e.g. -I eth0)");
  }
  request.set_interface(options.Get("interface"));
  auto port = options.GetUint("port", 1, 65535);
  if (!port.ok()) return port.status();
  if (!*port) return absl::InvalidArgumentError("-p/--port: required (1..65535)");
  request.set_port(static_cast<uint32_t>(**port));
  request.set_address(options.Get("address"));
  auto window = options.GetDuration("window");
  if (!window.ok()) return window.status();
  if (*window) ToProto(**window, request.mutable_window());
  request.set_payload(options.Get("payload"));
  return request;
}

int RunBroadcast(const CommandContext& ctx) {
  auto request = BuildBroadcastRequest(ctx.options);
  if (!request.ok()) {
    std::fprintf(ctx.err, "netprobe broadcast: %s\n",
                 std::string(request.status().message()).c_str());
    return kExitBadArguments;
  }
  // The agent always ends the stream after the window; the deadline only
  // guards against an agent that stops answering.
  const absl::Duration window =
      request->has_window() ? FromProto(request->window()) : absl::Seconds(2);
  grpc::ClientContext context;
  ctx.ApplyDeadline(&context, window + absl::Seconds(30));
  CancelOnInterrupt interrupt(&context);
  auto stub = v1::Probes::NewStub(ctx.channel);
  auto reader = stub->Broadcast(&context, *request);
  v1::BroadcastEvents batch;
  StreamEndExit end_exit;
  // What this client saw, for the closing line after Ctrl-C.
  uint64_t replies = 0;
  std::set<std::string> responders;
  bool summary_seen = false;
  uint64_t responders_found = 0;
  while (reader->Read(&batch)) {
    for (const v1::BroadcastEvent& event : batch.events()) {
      if (ctx.json) WriteJsonLine(ctx.out, event);
      std::string text;
      if (event.has_sent()) {
        text = FormatBroadcastSent(event.sent());
      } else if (event.has_reply()) {
        ++replies;
        responders.insert(event.reply().responder().address());
        text = FormatBroadcastReply(event.reply());
      } else if (event.has_summary()) {
        summary_seen = true;
        responders_found = event.summary().distinct_responders();
        text = FormatBroadcastSummary(event.summary());
      } else if (event.has_dropped()) {
        text = FormatDropped(event.dropped());
      } else if (event.has_end()) {
        end_exit.Note(event.end());
        text = FormatStreamEnd(event.end());
      }
      if (!ctx.json) std::fwrite(text.data(), 1, text.size(), ctx.out);
    }
    std::fflush(ctx.out);
  }
  const grpc::Status status = reader->Finish();
  if (interrupt.interrupted()) {
    if (!summary_seen) {
      v1::BroadcastEvent event;
      event.mutable_summary()->set_replies(replies);
      event.mutable_summary()->set_distinct_responders(responders.size());
      if (ctx.json) {
        WriteJsonLine(ctx.out, event);
      } else {
        const std::string text = FormatBroadcastSummary(event.summary());
        std::fwrite(text.data(), 1, text.size(), ctx.out);
      }
      std::fflush(ctx.out);
    }
    return kExitInterrupted;
  }
  if (!status.ok()) return ReportRpcError(ctx, "broadcast", status);
  return end_exit.Exit(responders_found > 0 ? kExitOk : kExitProbeFailed);
}

}  // namespace netprobe::client
