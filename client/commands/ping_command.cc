#include "client/commands/ping_command.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "client/commands/cadence_args.h"
#include "client/commands/local_tallies.h"
#include "client/commands/ping_targets.h"
#include "client/commands/probe_capture.h"
#include "client/commands/socket_args.h"
#include "client/exit_codes.h"
#include "client/interrupt.h"
#include "client/output/json_lines.h"
#include "client/output/ping_text.h"
#include "client/output/tcp_text.h"
#include "client/stream_end_exit.h"
#include "common/deadline_grace.h"
#include "common/posix_error.h"
#include "common/proto_time.h"
#include "common/target_tally.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe::client {

std::vector<OptionSpec> PingOptions() {
  std::vector<OptionSpec> specs = {
      {'c', "count", "N",
       "echo requests per target (default 0: until interrupted or -w)"},
      {'i', "interval", "DURATION",
       "between requests to one target (default 1s, min 1ms)"},
      {'W', "wait", "DURATION", "time to wait for each reply (default 1s)"},
      {'w', "deadline", "DURATION",
       "stop after this long and print the statistics, like ping -w"},
      {'s', "size", "BYTES", "ICMP payload bytes (default 56, max 65507)"},
      {'t', "ttl", "N", "IP TTL / hop limit"},
      {'Q', "tos", "N", "IP TOS / traffic class, decimal or 0x hex"},
      {'I', "interface", "IFACE|ADDR", "send from this interface or source address"},
      {'4', "ipv4", "", "IPv4 only"},
      {'6', "ipv6", "", "IPv6 only"},
      {0, "rate", "PPS",
       "at most this many requests per second, all targets (default 20000)"},
      {'M', "pmtudisc", "do|dont|want|probe",
       "path MTU discovery, like ping -M: do (DF, refuse above the path MTU), "
       "dont (fragment), want (DF until a smaller MTU is learnt), probe (DF, "
       "ignore the path MTU)"},
      {0, "dont-fragment", "", "set DF; never fragment locally (-M probe)"},
      {'D', "timestamps", "", "print the Unix time of each reply before it"},
      {'q', "quiet", "", "print only the header and the statistics"},
      {'n', "numeric", "",
       "numeric addresses (always: the agent reports the address it used)"},
      {'O', "outstanding", "",
       "report each request not answered in time (no answer yet for icmp_seq=N)"},
      {'a', "alive", "", "print only the targets that answered, like fping -a"},
      {'u', "unreachable", "",
       "print only the targets that never answered, like fping -u"},
      {'g', "generate", "",
       "the targets are a CIDR block or START END, like fping -g (a CIDR target "
       "stands for its addresses anyway)"},
  };
  for (OptionSpec& spec : ProbeCaptureOptionSpecs()) specs.push_back(std::move(spec));
  return specs;
}

namespace {

absl::StatusOr<v1::DontFragment> PmtuDiscovery(const ParsedOptions& options) {
  if (options.Has("pmtudisc") && options.Has("dont-fragment")) {
    return absl::InvalidArgumentError("-M and --dont-fragment exclude each other");
  }
  if (options.Has("dont-fragment")) return v1::DONT_FRAGMENT_SET;
  if (!options.Has("pmtudisc")) return v1::DONT_FRAGMENT_DEFAULT;
  const std::string mode = options.Get("pmtudisc");
  if (mode == "do") return v1::DONT_FRAGMENT_DO;
  if (mode == "dont") return v1::DONT_FRAGMENT_CLEAR;
  if (mode == "want") return v1::DONT_FRAGMENT_WANT;
  if (mode == "probe") return v1::DONT_FRAGMENT_SET;
  return absl::InvalidArgumentError(
      absl::StrCat("-M/--pmtudisc: '", mode, "' is not one of do, dont, want, probe"));
}

}  // namespace

absl::StatusOr<v1::PingRequest> BuildPingRequest(const ParsedOptions& options) {
  v1::PingRequest request;
  if (options.positional().empty()) {
    return absl::InvalidArgumentError("no target: give one or more hosts");
  }
  NETPROBE_ASSIGN_OR_RETURN(
      const std::vector<std::string> targets,
      ExpandPingTargets(options.positional(), options.Has("generate")));
  for (const std::string& target : targets) request.add_targets(target);
  if (options.Has("alive") && options.Has("unreachable")) {
    return absl::InvalidArgumentError("-a and -u exclude each other");
  }
  NETPROBE_RETURN_IF_ERROR(ApplyCadenceArgs(options, 0, 1000000, &request));
  // -a / -u answer "which targets answer?": one request each, as fping's
  // default mode, unless -c asks for more.
  if ((options.Has("alive") || options.Has("unreachable")) && !options.Has("count")) {
    request.set_count(1);
  }
  auto size = options.GetUint("size", 0, 65507);
  if (!size.ok()) return size.status();
  if (*size) request.set_size(static_cast<uint32_t>(**size));
  auto rate = options.GetUint("rate", 1, 100000);
  if (!rate.ok()) return rate.status();
  if (*rate) request.set_rate_limit(static_cast<uint32_t>(**rate));
  v1::AddressFamily family = v1::ADDRESS_FAMILY_UNSPECIFIED;
  if (absl::Status st = ApplySocketArgs(options, request.mutable_options(), &family);
      !st.ok()) {
    return st;
  }
  request.set_family(family);
  NETPROBE_ASSIGN_OR_RETURN(const v1::DontFragment df, PmtuDiscovery(options));
  request.mutable_options()->set_dont_fragment(df);
  auto deadline = options.GetDuration("deadline");
  if (!deadline.ok()) return deadline.status();
  if (*deadline && **deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("-w/--deadline: must be above 0");
  }
  NETPROBE_RETURN_IF_ERROR(ApplyProbeCaptureArgs(options, &request));
  // Every request is announced as it leaves: the header comes at once and
  // a Ctrl-C counts the requests still waiting for their replies.
  request.set_report_sends(true);
  return request;
}

int RunPing(const CommandContext& ctx) {
  auto request = BuildPingRequest(ctx.options);
  if (!request.ok()) {
    std::fprintf(ctx.err, "netprobe ping: %s\n",
                 std::string(request.status().message()).c_str());
    return kExitBadArguments;
  }
  // Like ping for one target, like fping for several.
  const bool fping_style = request->targets_size() > 1;
  const uint32_t size = request->has_size() ? request->size() : 56;
  const bool quiet = ctx.options.Has("quiet");
  const bool timestamps = ctx.options.Has("timestamps");
  const bool outstanding = ctx.options.Has("outstanding");
  // fping -a / -u: only the names, once the run is over.
  const bool alive = ctx.options.Has("alive"),
             unreachable = ctx.options.Has("unreachable");
  const bool names_only = alive || unreachable;
  size_t width = 0;  // fping pads the target column to the longest target
  for (const std::string& target : request->targets())
    width = std::max(width, target.size());
  std::vector<std::pair<std::string, bool>> answered;  // target, any reply
  const std::optional<absl::Duration> own_deadline =
      *ctx.options.GetDuration("deadline");  // checked by BuildPingRequest
  ProbeCapture capture;                      // --capture FILE
  if (absl::Status opened = capture.Open(ctx, "ping"); !opened.ok()) {
    std::fprintf(ctx.err, "netprobe ping: %s\n", std::string(opened.message()).c_str());
    return kExitBadArguments;
  }
  grpc::ClientContext context;
  ctx.ApplyDeadline(&context, absl::InfiniteDuration());
  if (own_deadline) {
    // The agent ends the probe kDeadlineGrace before the call's deadline.
    const auto end = std::chrono::system_clock::now() +
                     absl::ToChronoNanoseconds(*own_deadline + kDeadlineGrace);
    if (end < context.deadline()) context.set_deadline(end);
  }
  CancelOnInterrupt interrupt(&context);
  auto stub = v1::Probes::NewStub(ctx.channel);
  auto reader = stub->Ping(&context, *request);
  v1::PingEvents batch;
  LocalTallies tallies;
  std::set<std::string> announced;
  std::optional<absl::Time> first_sent;  // this client's clock, for "time Nms"
  StreamEndExit end_exit;
  bool any_unreached = false;
  auto show_summary = [&](const v1::TargetSummary& summary) {
    any_unreached |= summary.received() == 0 || (own_deadline && request->count() != 0 &&
                                                 summary.received() < request->count());
    answered.emplace_back(summary.target().host(), summary.received() > 0);
    if (ctx.on_summary) ctx.on_summary(summary);
    if (ctx.json || names_only) return;
    std::optional<absl::Duration> elapsed;
    if (first_sent) elapsed = absl::Now() - *first_sent;
    const std::string text = fping_style ? FormatFpingSummary(summary, width)
                                         : FormatPingSummary(summary, elapsed);
    std::fwrite(text.data(), 1, text.size(), ctx.out);
  };
  bool summaries_seen = false;
  while (reader->Read(&batch)) {
    for (const v1::PingEvent& event : batch.events()) {
      if (ctx.json && ShownAsJson(event)) WriteJsonLine(ctx.out, event);
      if (event.has_capture()) {
        capture.Add(event.capture());
        continue;
      }
      std::string text;
      if (event.has_sent()) {
        tallies.Sent(event.sent().target());
        if (!first_sent) first_sent = absl::Now();
        if (!fping_style && announced.insert(event.sent().target().host()).second) {
          text = FormatPingHeader(event.sent().target(), size);
        }
      } else if (event.has_reply()) {
        const v1::PingReply& reply = event.reply();
        tallies.Add(reply.target(), reply.result().outcome(), FromProto(reply.rtt()),
                    reply.duplicate());
        const bool timed_out = reply.result().outcome() == v1::OUTCOME_TIMEOUT;
        // fping -c prints its timeouts; ping only with -O. --json prints the
        // event above: no text to format.
        if (!ctx.json && !quiet && !names_only &&
            (fping_style || !timed_out || outstanding)) {
          if (timestamps) {
            text = FormatPingTimestamp(FromProto(reply.time()) + FromProto(reply.rtt()));
          }
          if (fping_style) {
            const LocalTallies::Running running = tallies.RunningOf(reply.target());
            text += FormatFpingReply(reply, width, running.avg, running.loss_percent);
          } else {
            text += FormatPingReply(reply);
          }
        }
      } else if (event.has_summary()) {
        tallies.Summarized(event.summary().target());
        if (!summaries_seen && fping_style && !ctx.json && !quiet && !names_only) {
          text = "\n";
        }
        summaries_seen = true;
        if (!ctx.json) std::fwrite(text.data(), 1, text.size(), ctx.out);
        text.clear();
        show_summary(event.summary());
      } else if (event.has_dropped()) {
        text = FormatDropped(event.dropped());
      } else if (event.has_end()) {
        end_exit.Note(event.end());
        // ping -w ends at its deadline without a word, as iputils does.
        if (!(own_deadline && end_exit.deadline())) text = FormatStreamEnd(event.end());
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
  // fping -a / -u: the names, in the order of the summaries.
  auto show_names = [&] {
    if (!names_only || ctx.json) return;
    for (const auto& [target, any] : answered) {
      if (any == alive) std::fprintf(ctx.out, "%s\n", target.c_str());
    }
    std::fflush(ctx.out);
  };
  if (interrupt.interrupted()) {
    // The agent stopped at the cancel; the statistics are what this client saw.
    const std::vector<v1::TargetSummary> left = tallies.Summaries();
    if (fping_style && !ctx.json && !left.empty() && !quiet && !names_only) {
      std::fputs("\n", ctx.out);
    }
    for (const v1::TargetSummary& summary : left) {
      if (ctx.json) {
        v1::PingEvent event;
        *event.mutable_summary() = summary;
        WriteJsonLine(ctx.out, event);
      }
      show_summary(summary);
    }
    show_names();
    std::fflush(ctx.out);
    return kExitInterrupted;
  }
  if (!status.ok()) return ReportRpcError(ctx, "ping", status);
  show_names();
  return end_exit.Exit(any_unreached ? kExitProbeFailed : kExitOk,
                       own_deadline.has_value());
}

}  // namespace netprobe::client
