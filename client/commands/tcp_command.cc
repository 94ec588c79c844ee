#include "client/commands/tcp_command.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/commands/cadence_args.h"
#include "client/commands/local_tallies.h"
#include "client/commands/port_list.h"
#include "client/commands/probe_capture.h"
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

std::vector<OptionSpec> TcpOptions() {
  std::vector<OptionSpec> specs = {
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
      {'z', "scan", "",
       "one line per port, open/closed/filtered, like nc -zv or nmap (the default "
       "for port lists: HOST:80-85,443)"},
      {'q', "quiet", "", "print only the statistics (a scan: only its totals)"},
  };
  for (OptionSpec& spec : ProbeCaptureOptionSpecs()) specs.push_back(std::move(spec));
  return specs;
}

absl::StatusOr<v1::TcpConnectRequest> BuildTcpRequest(const ParsedOptions& options) {
  v1::TcpConnectRequest request;
  if (options.positional().empty()) {
    return absl::InvalidArgumentError("no target: give one or more HOST:PORT");
  }
  for (const std::string& target : options.positional()) {
    NETPROBE_ASSIGN_OR_RETURN(const std::vector<std::string> expanded,
                              ExpandPorts(target));
    for (const std::string& one : expanded) request.add_targets(one);
  }
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
  NETPROBE_RETURN_IF_ERROR(ApplyProbeCaptureArgs(options, &request));
  // Each connect() is announced as it starts, so a Ctrl-C counts the
  // attempts still waiting for their outcome.
  request.set_report_sends(true);
  return request;
}

namespace {

// How the text output looks: per attempt (tcping), per port (a scan), or
// only the statistics (-q); a scan tallies the ports by state.
struct TcpView {
  bool scan = false;
  bool quiet = false;
  std::map<std::string, int> states;  // "open", "closed", "filtered", ...
};

// Writes one event as text lines or a JSON line (unflushed); returns true for
// the summary of a target that never connected.
bool ShowTcpEvent(const CommandContext& ctx, const v1::TcpConnectEvent& event,
                  TcpView* view) {
  const bool unreached = event.has_summary() && event.summary().received() == 0;
  if (event.has_summary() && ctx.on_summary) ctx.on_summary(event.summary());
  if (event.has_attempt()) ++view->states[TcpScanState(event.attempt().result())];
  if (ctx.json) {
    WriteJsonLine(ctx.out, event);
    return unreached;
  }
  std::string text;
  switch (event.event_case()) {
    case v1::TcpConnectEvent::kAttempt:
      if (view->quiet) break;
      text = view->scan ? FormatTcpScanLine(event.attempt())
                        : FormatTcpAttempt(event.attempt());
      break;
    case v1::TcpConnectEvent::kSummary:
      if (!view->scan) text = absl::StrCat("\n", FormatTcpSummary(event.summary()));
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

// A scan's closing line: "6 ports: 2 open, 1 closed, 3 filtered".
std::string ScanTotals(const TcpView& view) {
  int ports = 0;
  std::vector<std::string> parts;
  for (const char* state : {"open", "closed", "filtered"}) {
    auto it = view.states.find(state);
    parts.push_back(absl::StrCat(it == view.states.end() ? 0 : it->second, " ", state));
  }
  for (const auto& [state, n] : view.states) {
    ports += n;
    if (state != "open" && state != "closed" && state != "filtered") {
      parts.push_back(absl::StrCat(n, " ", state));
    }
  }
  return absl::StrCat(
      ports, ports == 1 ? " port: " : " ports: ", absl::StrJoin(parts, ", "), "\n");
}

}  // namespace

int RunTcp(const CommandContext& ctx) {
  auto request = BuildTcpRequest(ctx.options);
  if (!request.ok()) {
    std::fprintf(ctx.err, "netprobe tcp: %s\n",
                 std::string(request.status().message()).c_str());
    return kExitBadArguments;
  }
  ProbeCapture capture;  // --capture FILE
  if (absl::Status opened = capture.Open(ctx, "tcp"); !opened.ok()) {
    std::fprintf(ctx.err, "netprobe tcp: %s\n", std::string(opened.message()).c_str());
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
  TcpView view;
  view.quiet = ctx.options.Has("quiet");
  view.scan = ctx.options.Has("scan");
  for (const std::string& target : ctx.options.positional()) {
    view.scan |= HasPortList(target);
  }
  LocalTallies tallies;  // for the statistics after Ctrl-C, as tcping prints
  StreamEndExit end_exit;
  while (reader->Read(&batch)) {
    for (const v1::TcpConnectEvent& event : batch.events()) {
      if (event.has_capture()) {
        capture.Add(event.capture());
        if (ctx.json && ShownAsJson(event)) WriteJsonLine(ctx.out, event);
        continue;
      }
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
      any_target_unreached |= ShowTcpEvent(ctx, event, &view);
    }
    std::fflush(ctx.out);  // Pipelines see each batch as it arrives.
    // A capture write failed: nothing more can be kept.
    if (capture.failed()) context.TryCancel();
  }
  const grpc::Status status = reader->Finish();
  if (const int failed = capture.Finish(ctx, status, interrupt.interrupted());
      failed != 0) {
    return failed;
  }
  if (interrupt.interrupted()) {
    // The agent stopped at the cancel; the statistics are what this client saw.
    for (const v1::TargetSummary& summary : tallies.Summaries()) {
      v1::TcpConnectEvent event;
      *event.mutable_summary() = summary;
      ShowTcpEvent(ctx, event, &view);
    }
    if (view.scan && !ctx.json) std::fputs(ScanTotals(view).c_str(), ctx.out);
    std::fflush(ctx.out);
    return kExitInterrupted;
  }
  if (!status.ok()) return ReportRpcError(ctx, "tcp", status);
  if (view.scan) {
    // As nc -z: success when some port is open.
    if (!ctx.json) std::fputs(ScanTotals(view).c_str(), ctx.out);
    return end_exit.Exit(view.states.count("open") > 0 ? kExitOk : kExitProbeFailed);
  }
  return end_exit.Exit(any_target_unreached ? kExitProbeFailed : kExitOk);
}

}  // namespace netprobe::client
