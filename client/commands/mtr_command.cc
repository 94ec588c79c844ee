#include "client/commands/mtr_command.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/commands/socket_args.h"
#include "client/exit_codes.h"
#include "client/interrupt.h"
#include "client/output/json_lines.h"
#include "client/output/mtr_text.h"
#include "client/output/tcp_text.h"
#include "client/stream_end_exit.h"
#include "common/posix_error.h"
#include "common/proto_time.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe::client {
namespace {

// mtr -r's default cycles.
constexpr uint32_t kReportCycles = 10;
// Clears an ANSI terminal and puts the cursor top left.
constexpr char kClearScreen[] = "\x1b[H\x1b[2J";

}  // namespace

std::vector<OptionSpec> MtrOptions() {
  return {
      {'c', "report-cycles", "N",
       "rounds (default 10 with -r or piped; on a terminal until Ctrl-C)"},
      {'i', "interval", "SECONDS", "time between rounds, 0.01 or more (default 1)"},
      {'r', "report", "", "only the final report, like mtr -r"},
      {'n', "no-dns", "", "print addresses numerically (no reverse DNS on the agent)"},
      {'u', "udp", "", "UDP datagrams instead of ICMP echo, to one constant port"},
      {'T', "tcp", "", "TCP SYN instead of ICMP echo (port 80 unless -P)"},
      {'P', "port", "PORT", "the UDP or TCP destination port"},
      {'f', "first-ttl", "FIRST", "TTL to start at (default 1)"},
      {'m', "max-ttl", "MAX", "the largest TTL (default 30)"},
      {'U', "max-unknown", "N", "stop after N silent hops in a row (default 5)"},
      // mtr's --timeout; the long name is the global deadline's here.
      {'Z', "probe-timeout", "SECONDS",
       "how long a probe waits for its answer (default: the interval, 1 to 5 s)"},
      {'s', "psize", "BYTES", "packet length, IP header included"},
      {'4', "ipv4", "", "IPv4 only"},
      {'6', "ipv6", "", "IPv6 only"},
      {0, "flows", "N", "distinct Paris flows, 1..64 (default 1: one path)"},
  };
}

absl::StatusOr<v1::TracerouteRequest> BuildMtrRequest(const ParsedOptions& options,
                                                      bool live) {
  v1::TracerouteRequest request;
  const std::vector<std::string>& args = options.positional();
  if (args.size() != 1) return absl::InvalidArgumentError("give one TARGET");
  request.set_target(args[0]);
  if (options.Has("udp") && options.Has("tcp")) {
    return absl::InvalidArgumentError("-u and -T exclude each other");
  }
  request.set_method(options.Has("udp")   ? v1::TRACEROUTE_METHOD_UDP
                     : options.Has("tcp") ? v1::TRACEROUTE_METHOD_TCP
                                          : v1::TRACEROUTE_METHOD_ICMP);
  request.set_rounds(live ? 0 : kReportCycles);
  // Ranges are the agent's to check: it names the field and the limit.
  const std::pair<const char*, void (v1::TracerouteRequest::*)(uint32_t)> numbers[] = {
      {"report-cycles", &v1::TracerouteRequest::set_rounds},
      {"port", &v1::TracerouteRequest::set_port},
      {"first-ttl", &v1::TracerouteRequest::set_first_ttl},
      {"max-ttl", &v1::TracerouteRequest::set_max_ttl},
      {"max-unknown", &v1::TracerouteRequest::set_max_silent_hops},
      {"psize", &v1::TracerouteRequest::set_packet_length},
      {"flows", &v1::TracerouteRequest::set_flows},
  };
  for (const auto& [name, set] : numbers) {
    auto value = options.GetUint(name, 0, UINT32_MAX);
    if (!value.ok()) return value.status();
    if (*value) (request.*set)(static_cast<uint32_t>(**value));
  }
  const std::pair<const char*, google::protobuf::Duration* (v1::TracerouteRequest::*)()>
      durations[] = {
          {"interval", &v1::TracerouteRequest::mutable_interval},
          {"probe-timeout", &v1::TracerouteRequest::mutable_wait},
      };
  for (const auto& [name, field] : durations) {
    auto value = options.GetDuration(name);
    if (!value.ok()) return value.status();
    if (*value) ToProto(**value, (request.*field)());
  }
  v1::AddressFamily family = v1::ADDRESS_FAMILY_UNSPECIFIED;
  NETPROBE_RETURN_IF_ERROR(ApplySocketArgs(options, request.mutable_options(), &family));
  request.set_family(family);
  request.set_resolve(!options.Has("no-dns"));
  return request;
}

int RunMtr(const CommandContext& ctx) {
  const bool live =
      !ctx.json && !ctx.options.Has("report") && isatty(fileno(ctx.out)) == 1;
  auto request = BuildMtrRequest(ctx.options, live);
  if (!request.ok()) {
    std::fprintf(ctx.err, "netprobe mtr: %s\n",
                 std::string(request.status().message()).c_str());
    return kExitBadArguments;
  }
  grpc::ClientContext context;
  ctx.ApplyDeadline(&context, absl::InfiniteDuration());
  CancelOnInterrupt interrupt(&context);
  auto stub = v1::Probes::NewStub(ctx.channel);
  const absl::Time start = absl::Now();
  auto reader = stub->Traceroute(&context, *request);
  MtrTable table(request->has_flows() ? request->flows() : 1);
  const auto report = [&] {
    return table.Format(ctx.agent_name, start, absl::LocalTimeZone());
  };
  uint32_t drawn_round = 0;
  bool reached = false;
  StreamEndExit end_exit;
  std::string notes;  // drops and the stream's end, after the report
  v1::TracerouteEvents batch;
  while (reader->Read(&batch)) {
    for (const v1::TracerouteEvent& event : batch.events()) {
      if (ctx.json) WriteJsonLine(ctx.out, event);
      if (event.has_reply()) {
        table.Add(event.reply());
      } else if (event.has_hop()) {
        table.SetHop(event.hop());
      } else if (event.has_summary()) {
        reached = event.summary().reached_ttl() != 0;
      } else if (event.has_dropped()) {
        notes += FormatDropped(event.dropped());
      } else if (event.has_end()) {
        end_exit.Note(event.end());
        notes += FormatStreamEnd(event.end());
      }
    }
    if (ctx.json) std::fflush(ctx.out);
    // The live table: redrawn once a round is under way (its replies keep
    // coming for the rounds before).
    if (live && table.round() != drawn_round) {
      drawn_round = table.round();
      const std::string text = absl::StrCat(kClearScreen, report());
      std::fwrite(text.data(), 1, text.size(), ctx.out);
      std::fflush(ctx.out);
    }
  }
  const grpc::Status status = reader->Finish();
  const bool cancelled = interrupt.interrupted();
  // Like mtr: the report so far, also after Ctrl-C (from the replies then:
  // the agent sends no summaries to a cancelled call).
  if (!ctx.json && (status.ok() || cancelled)) {
    const std::string text = absl::StrCat(live ? kClearScreen : "", report(), notes);
    std::fwrite(text.data(), 1, text.size(), ctx.out);
    std::fflush(ctx.out);
  }
  if (cancelled) return kExitInterrupted;
  if (!status.ok()) return ReportRpcError(ctx, "mtr", status);
  return end_exit.Exit(reached ? kExitOk : kExitProbeFailed);
}

}  // namespace netprobe::client
