#include "client/commands/tcp_command.h"

#include "absl/strings/str_cat.h"
#include "client/commands/cadence_args.h"
#include "client/commands/local_tallies.h"
#include "client/commands/socket_args.h"
#include "client/exit_codes.h"
#include "client/interrupt.h"
#include "client/output/json_lines.h"
#include "client/output/tcp_text.h"
#include "client/stream_end_exit.h"
#include "common/posix_error.h"
#include "common/proto_time.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe::client {
namespace {}  // namespace

std::vector<OptionSpec> TcpOptions() {
  return {
      {'c', "count", "N", "attempts per target (default 1)"},
      {'i', "interval", "DURATION",
       "between attempts to one target (default 1s; 0 = back to back)"},
      {'W', "wait", "DURATION", "per-attempt connect timeout (default 3s)"},
      {0, "concurrency", "N", "attempts in flight at once (default 100)"},
      {'I', "interface", "IFACE|ADDR", "bind to this interface, or this source address"},
      {0, "info", "", "show TCP_INFO of each connection"},
      {'4', "ipv4", "", "use IPv4 only"},
      {'6', "ipv6", "", "use IPv6 only"},
      {'t', "ttl", "N", "IP TTL / hop limit"},
      {'Q', "tos", "N", "IP TOS / traffic class"},
      {0, "send", "TEXT", "send TEXT after connecting"},
      {0, "read", "N", "read up to N bytes of banner after connecting"},
      {0, "graceful", "", "close with FIN instead of RST"},
  };
}

absl::StatusOr<v1::TcpConnectRequest> BuildTcpRequest(const ParsedOptions& options) {
  v1::TcpConnectRequest request;
  if (options.positional().empty()) {
    return absl::InvalidArgumentError("no target: give one or more HOST:PORT");
  }
  for (const std::string& target : options.positional()) request.add_targets(target);
  NETPROBE_RETURN_IF_ERROR(ApplyCadenceArgs(options, 1, 100000, &request));
  auto concurrency = options.GetUint("concurrency", 1, 4096);
  if (!concurrency.ok()) return concurrency.status();
  if (*concurrency) request.set_concurrency(static_cast<uint32_t>(**concurrency));
  v1::AddressFamily family = v1::ADDRESS_FAMILY_UNSPECIFIED;
  if (absl::Status st = ApplySocketArgs(options, request.mutable_options(), &family);
      !st.ok()) {
    return st;
  }
  request.set_family(family);
  auto read = options.GetUint("read", 0, 65536);
  if (!read.ok()) return read.status();
  if (*read) request.set_read_bytes(static_cast<uint32_t>(**read));
  request.set_send_payload(options.Get("send"));
  request.set_tcp_info(options.Has("info"));
  request.set_graceful_close(options.Has("graceful"));
  // Each connect() is announced as it starts, so a Ctrl-C counts the
  // attempts still waiting for their outcome.
  request.set_report_sends(true);
  return request;
}

namespace {

// Writes one event as text lines or a JSON line (unflushed); returns true for
// the summary of a target that never connected.
bool ShowTcpEvent(const CommandContext& ctx, const v1::TcpConnectEvent& event) {
  const bool unreached = event.has_summary() && event.summary().received() == 0;
  if (event.has_summary() && ctx.on_summary) ctx.on_summary(event.summary());
  if (ctx.json) {
    WriteJsonLine(ctx.out, event);
    return unreached;
  }
  std::string text;
  switch (event.event_case()) {
    case v1::TcpConnectEvent::kAttempt:
      text = FormatTcpAttempt(event.attempt());
      break;
    case v1::TcpConnectEvent::kSummary:
      text = absl::StrCat("\n", FormatTcpSummary(event.summary()));
      break;
    case v1::TcpConnectEvent::kDropped:
      text = FormatDropped(event.dropped());
      break;
    case v1::TcpConnectEvent::kEnd:
      text = FormatStreamEnd(event.end());
      break;
    default:
      break;
  }
  std::fwrite(text.data(), 1, text.size(), ctx.out);
  return unreached;
}

}  // namespace

int RunTcp(const CommandContext& ctx) {
  auto request = BuildTcpRequest(ctx.options);
  if (!request.ok()) {
    std::fprintf(ctx.err, "netprobe tcp: %s\n",
                 std::string(request.status().message()).c_str());
    return kExitBadArguments;
  }
  grpc::ClientContext context;
  ctx.ApplyDeadline(&context, absl::InfiniteDuration());
  CancelOnInterrupt interrupt(&context);
  auto stub = v1::Probes::NewStub(ctx.channel);
  std::unique_ptr<grpc::ClientReader<v1::TcpConnectEvents>> reader =
      stub->TcpConnect(&context, *request);
  v1::TcpConnectEvents batch;
  bool any_target_unreached = false;
  LocalTallies tallies;  // for the statistics after Ctrl-C, as tcping prints
  StreamEndExit end_exit;
  while (reader->Read(&batch)) {
    for (const v1::TcpConnectEvent& event : batch.events()) {
      if (event.has_sent()) {
        tallies.Sent(event.sent().target());
        if (ctx.json) WriteJsonLine(ctx.out, event);
        continue;
      }
      if (event.has_end()) end_exit.Note(event.end());
      if (event.has_attempt()) {
        const v1::TcpAttempt& attempt = event.attempt();
        tallies.Add(attempt.target(), attempt.result().outcome(),
                    FromProto(attempt.connect_time()));
      }
      if (event.has_summary()) tallies.Summarized(event.summary().target());
      any_target_unreached |= ShowTcpEvent(ctx, event);
    }
    std::fflush(ctx.out);  // Pipelines see each batch as it arrives.
  }
  const grpc::Status status = reader->Finish();
  if (interrupt.interrupted()) {
    // The agent stopped at the cancel; the statistics are what this client saw.
    for (const v1::TargetSummary& summary : tallies.Summaries()) {
      v1::TcpConnectEvent event;
      *event.mutable_summary() = summary;
      ShowTcpEvent(ctx, event);
    }
    std::fflush(ctx.out);
    return kExitInterrupted;
  }
  if (!status.ok()) return ReportRpcError(ctx, "tcp", status);
  return end_exit.Exit(any_target_unreached ? kExitProbeFailed : kExitOk);
}

}  // namespace netprobe::client
