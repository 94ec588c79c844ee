#include "client/commands/udp_command.h"

#include "absl/strings/str_cat.h"
#include "client/commands/cadence_args.h"
#include "client/commands/probe_capture.h"
#include "client/commands/socket_args.h"
#include "client/exit_codes.h"
#include "client/interrupt.h"
#include "client/output/json_lines.h"
#include "client/output/tcp_text.h"
#include "client/output/udp_text.h"
#include "client/stream_end_exit.h"
#include "common/posix_error.h"
#include "common/proto_time.h"
#include "common/target_tally.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe::client {

std::vector<OptionSpec> UdpOptions() {
  std::vector<OptionSpec> specs = {
      {'c', "count", "N", "datagrams to send (default: until interrupted)"},
      {'i', "interval", "DURATION", "between datagrams (default 1s, min 1ms)"},
      {'W', "wait", "DURATION", "time to wait for each echo (default 1s)"},
      {'s', "size", "BYTES", "datagram bytes (default 64, min 24, max 65507)"},
      {'t', "ttl", "N", "IP TTL / hop limit"},
      {'Q', "tos", "N", "IP TOS / traffic class"},
      {'I', "interface", "IFACE|ADDR", "send from this interface or source address"},
      {'4', "ipv4", "", "IPv4 only"},
      {'6', "ipv6", "", "IPv6 only"},
  };
  for (OptionSpec& spec : ProbeCaptureOptionSpecs()) specs.push_back(std::move(spec));
  return specs;
}

absl::StatusOr<v1::UdpEchoRequest> BuildUdpEchoRequest(const ParsedOptions& options) {
  v1::UdpEchoRequest request;
  if (options.positional().size() != 1) {
    return absl::InvalidArgumentError(
        "give exactly one HOST:PORT (an echo responder, e.g. an agent's --udp-echo)");
  }
  request.set_target(options.positional()[0]);
  NETPROBE_RETURN_IF_ERROR(ApplyCadenceArgs(options, 0, 1000000, &request));
  auto size = options.GetUint("size", 24, 65507);
  if (!size.ok()) return size.status();
  if (*size) request.set_size(static_cast<uint32_t>(**size));
  v1::AddressFamily family = v1::ADDRESS_FAMILY_UNSPECIFIED;
  if (absl::Status st = ApplySocketArgs(options, request.mutable_options(), &family);
      !st.ok()) {
    return st;
  }
  request.set_family(family);
  NETPROBE_RETURN_IF_ERROR(ApplyProbeCaptureArgs(options, &request));
  // Each datagram is announced as it leaves: the header comes at once and a
  // Ctrl-C counts the datagrams still waiting for their echo.
  request.set_report_sends(true);
  return request;
}

int RunUdp(const CommandContext& ctx) {
  auto request = BuildUdpEchoRequest(ctx.options);
  if (!request.ok()) {
    std::fprintf(ctx.err, "netprobe udp: %s\n",
                 std::string(request.status().message()).c_str());
    return kExitBadArguments;
  }
  ProbeCapture capture;  // --capture FILE
  if (absl::Status opened = capture.Open(ctx, "udp"); !opened.ok()) {
    std::fprintf(ctx.err, "netprobe udp: %s\n", std::string(opened.message()).c_str());
    return kExitBadArguments;
  }
  grpc::ClientContext context;
  ctx.ApplyDeadline(&context, absl::InfiniteDuration());
  CancelOnInterrupt interrupt(&context);
  auto stub = v1::Probes::NewStub(ctx.channel);
  auto reader = stub->UdpEcho(&context, *request);
  const uint32_t size = request->size() != 0 ? request->size() : 64;
  v1::UdpEchoEvents batch;
  // What this client saw, for the statistics after Ctrl-C (the agent sends
  // no summary after a cancel).
  TargetTally local;
  uint64_t sent = 0;  // AttemptSent events
  v1::Endpoint target;
  bool announced = false, summary_seen = false, any_received = false;
  StreamEndExit end_exit;
  auto announce = [&](const v1::Endpoint& endpoint) -> std::string {
    if (announced) return "";
    announced = true;
    target = endpoint;
    return FormatUdpEchoHeader(target, size);
  };
  while (reader->Read(&batch)) {
    for (const v1::UdpEchoEvent& event : batch.events()) {
      if (ctx.json && ShownAsJson(event)) WriteJsonLine(ctx.out, event);
      if (event.has_capture()) {
        capture.Add(event.capture());
        continue;
      }
      std::string text;
      if (event.has_sent()) {
        ++sent;
        text = announce(event.sent().target());
      } else if (event.has_reply()) {
        const v1::UdpEchoReply& reply = event.reply();
        text = announce(reply.target());
        if (reply.duplicate()) {
          local.RecordDuplicate();
        } else if (reply.result().outcome() == v1::OUTCOME_OK) {
          local.Record(v1::OUTCOME_OK, FromProto(reply.rtt()));
          local.RecordTransit(FromProto(reply.rtt()));
        } else {
          local.Record(reply.result().outcome());
        }
        text += FormatUdpEchoReply(reply);
      } else if (event.has_summary()) {
        summary_seen = true;
        any_received = event.summary().received() > 0;
        if (ctx.on_summary) ctx.on_summary(event.summary());
        text = FormatUdpEchoSummary(event.summary());
      } else if (event.has_dropped()) {
        text = FormatDropped(event.dropped());
      } else if (event.has_end()) {
        end_exit.Note(event.end());
        text = FormatStreamEnd(event.end());
      }
      if (!ctx.json) std::fwrite(text.data(), 1, text.size(), ctx.out);
    }
    std::fflush(ctx.out);
    if (capture.failed()) context.TryCancel();  // nothing more can be kept
  }
  const grpc::Status status = reader->Finish();
  if (const int failed = capture.Finish(ctx, status, interrupt.interrupted());
      failed != 0) {
    return failed;
  }
  if (interrupt.interrupted()) {
    if (announced && !summary_seen) {
      v1::UdpEchoEvent event;
      *event.mutable_summary()->mutable_target() = target;
      local.Fill(event.mutable_summary());
      CountAnnouncedAttempts(sent, event.mutable_summary());
      if (ctx.on_summary) ctx.on_summary(event.summary());
      if (ctx.json) {
        WriteJsonLine(ctx.out, event);
      } else {
        std::fputs(FormatUdpEchoSummary(event.summary()).c_str(), ctx.out);
      }
      std::fflush(ctx.out);
    }
    return kExitInterrupted;
  }
  if (!status.ok()) return ReportRpcError(ctx, "udp", status);
  return end_exit.Exit(any_received ? kExitOk : kExitProbeFailed);
}

}  // namespace netprobe::client
