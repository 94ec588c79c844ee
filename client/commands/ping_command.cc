#include "client/commands/ping_command.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "client/commands/cadence_args.h"
#include "client/commands/local_tallies.h"
#include "client/commands/socket_args.h"
#include "client/exit_codes.h"
#include "client/interrupt.h"
#include "client/output/json_lines.h"
#include "client/output/ping_text.h"
#include "client/output/tcp_text.h"
#include "common/posix_error.h"
#include "common/proto_time.h"
#include "common/target_tally.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe::client {
namespace {}  // namespace

std::vector<OptionSpec> PingOptions() {
  return {
      {'c', "count", "N", "echo requests per target (default: until interrupted)"},
      {'i', "interval", "DURATION",
       "between requests to one target (default 1s, min 1ms)"},
      {'W', "wait", "DURATION", "time to wait for each reply (default 1s)"},
      {'s', "size", "BYTES", "ICMP payload bytes (default 56, max 65507)"},
      {'t', "ttl", "N", "IP TTL / hop limit"},
      {'Q', "tos", "N", "IP TOS / traffic class"},
      {'I', "interface", "IFACE|ADDR", "send from this interface or source address"},
      {'4', "ipv4", "", "IPv4 only"},
      {'6', "ipv6", "", "IPv6 only"},
      {0, "rate", "PPS",
       "at most this many requests per second, all targets (default 20000)"},
      {'D', "dont-fragment", "", "set DF; never fragment locally"},
  };
}

absl::StatusOr<v1::PingRequest> BuildPingRequest(const ParsedOptions& options) {
  v1::PingRequest request;
  if (options.positional().empty()) {
    return absl::InvalidArgumentError("no target: give one or more hosts");
  }
  for (const std::string& target : options.positional()) request.add_targets(target);
  NETPROBE_RETURN_IF_ERROR(ApplyCadenceArgs(options, 1000000, &request));
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
  if (options.Has("dont-fragment")) {
    request.mutable_options()->set_dont_fragment(v1::DONT_FRAGMENT_SET);
  }
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
  grpc::ClientContext context;
  ctx.ApplyDeadline(&context, absl::InfiniteDuration());
  CancelOnInterrupt interrupt(&context);
  auto stub = v1::Probes::NewStub(ctx.channel);
  auto reader = stub->Ping(&context, *request);
  v1::PingEvents batch;
  LocalTallies tallies;
  std::set<std::string> announced;
  bool any_unreached = false;
  auto show_summary = [&](const v1::TargetSummary& summary) {
    any_unreached |= summary.received() == 0;
    if (ctx.on_summary) ctx.on_summary(summary);
    if (ctx.json) return;
    const std::string text =
        fping_style ? FormatFpingSummary(summary) : FormatPingSummary(summary);
    std::fwrite(text.data(), 1, text.size(), ctx.out);
  };
  bool summaries_seen = false;
  while (reader->Read(&batch)) {
    for (const v1::PingEvent& event : batch.events()) {
      if (ctx.json) WriteJsonLine(ctx.out, event);
      std::string text;
      if (event.has_reply()) {
        const v1::PingReply& reply = event.reply();
        tallies.Add(reply.target(), reply.result().outcome(), FromProto(reply.rtt()),
                    reply.duplicate());
        if (!fping_style && announced.insert(event.reply().target().host()).second) {
          text = FormatPingHeader(event.reply().target(), size);
        }
        text += fping_style ? FormatFpingReply(event.reply())
                            : FormatPingReply(event.reply());
      } else if (event.has_summary()) {
        tallies.Summarized(event.summary().target());
        if (!summaries_seen && fping_style && !ctx.json) text = "\n";
        summaries_seen = true;
        if (!ctx.json) std::fwrite(text.data(), 1, text.size(), ctx.out);
        text.clear();
        show_summary(event.summary());
      } else if (event.has_dropped()) {
        text = FormatDropped(event.dropped());
      } else if (event.has_end()) {
        text = FormatStreamEnd(event.end());
      }
      if (!ctx.json) std::fwrite(text.data(), 1, text.size(), ctx.out);
    }
    std::fflush(ctx.out);
  }
  const grpc::Status status = reader->Finish();
  if (interrupt.interrupted()) {
    // The agent stopped at the cancel; the statistics are what this client saw.
    const std::vector<v1::TargetSummary> left = tallies.Summaries();
    if (fping_style && !ctx.json && !left.empty()) std::fputs("\n", ctx.out);
    for (const v1::TargetSummary& summary : left) {
      if (ctx.json) {
        v1::PingEvent event;
        *event.mutable_summary() = summary;
        WriteJsonLine(ctx.out, event);
      }
      show_summary(summary);
    }
    std::fflush(ctx.out);
    return kExitInterrupted;
  }
  if (!status.ok()) return ReportRpcError(ctx, "ping", status);
  return any_unreached ? kExitProbeFailed : kExitOk;
}

}  // namespace netprobe::client
