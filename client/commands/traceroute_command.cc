#include "client/commands/traceroute_command.h"

#include <cstdint>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/commands/probe_capture.h"
#include "client/commands/socket_args.h"
#include "client/exit_codes.h"
#include "client/interrupt.h"
#include "client/output/json_lines.h"
#include "client/output/tcp_text.h"
#include "client/output/traceroute_text.h"
#include "client/stream_end_exit.h"
#include "common/posix_error.h"
#include "common/proto_time.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe::client {

std::vector<OptionSpec> TracerouteOptions() {
  std::vector<OptionSpec> specs = {
      {'n', "numeric", "", "print addresses numerically (no reverse DNS on the agent)"},
      {'I', "icmp", "", "ICMP echo probes"},
      {'U', "udp", "", "UDP probes (the default), to one constant port"},
      {'T', "tcp", "",
       "TCP SYN probes, to one constant port (the agent needs CAP_NET_RAW)"},
      {'p', "port", "PORT", "destination port (default 33434 for UDP, 80 for TCP)"},
      {'f', "first", "FIRST", "TTL to start at (default 1)"},
      {'m', "max-hops", "MAX", "the largest TTL (default 30)"},
      {'q', "queries", "N", "probes per hop (default 3, at most 10)"},
      {'w', "wait", "WAIT", "how long each probe waits for its answer (default 5s)"},
      {'t', "tos", "TOS", "IP TOS / traffic class"},
      {'s', "source", "SRC", "source address"},
      {'i', "interface", "IFACE", "send from this interface"},
      {'4', "ipv4", "", "IPv4 only"},
      {'6', "ipv6", "", "IPv6 only"},
      {0, "flows", "N", "distinct Paris flows, 1..64 (default 1: one path)"},
      {'l', "flow-label", "N",
       "IPv6 flow label of every probe (default 0); up to 524287 while "
       "net.ipv6.flowlabel_state_ranges is 1"},
      {'e', "extensions", "", "show ICMP extensions (RFC 4950 MPLS labels)"},
  };
  for (OptionSpec& spec : ProbeCaptureOptionSpecs()) specs.push_back(std::move(spec));
  return specs;
}

absl::StatusOr<v1::TracerouteRequest> BuildTracerouteRequest(
    const ParsedOptions& options) {
  v1::TracerouteRequest request;
  const std::vector<std::string>& args = options.positional();
  if (args.empty() || args.size() > 2) {
    return absl::InvalidArgumentError("give TARGET and optionally PACKETLEN");
  }
  request.set_target(args[0]);
  if (args.size() == 2) {
    uint32_t length = 0;
    if (!absl::SimpleAtoi(args[1], &length)) {
      return absl::InvalidArgumentError(
          absl::StrCat("PACKETLEN: '", args[1], "' is not a number of bytes"));
    }
    request.set_packet_length(length);
  }
  const int methods = options.Has("icmp") + options.Has("udp") + options.Has("tcp");
  if (methods > 1) return absl::InvalidArgumentError("-I, -U and -T exclude each other");
  request.set_method(options.Has("icmp")  ? v1::TRACEROUTE_METHOD_ICMP
                     : options.Has("tcp") ? v1::TRACEROUTE_METHOD_TCP
                                          : v1::TRACEROUTE_METHOD_UDP);
  // Ranges are the agent's to check: it names the field and the limit.
  const std::pair<const char*, void (v1::TracerouteRequest::*)(uint32_t)> numbers[] = {
      {"port", &v1::TracerouteRequest::set_port},
      {"first", &v1::TracerouteRequest::set_first_ttl},
      {"max-hops", &v1::TracerouteRequest::set_max_ttl},
      {"queries", &v1::TracerouteRequest::set_probes_per_hop},
      {"flows", &v1::TracerouteRequest::set_flows},
  };
  for (const auto& [name, set] : numbers) {
    auto value = options.GetUint(name, 0, UINT32_MAX);
    if (!value.ok()) return value.status();
    if (*value) (request.*set)(static_cast<uint32_t>(**value));
  }
  if (options.Has("flow-label")) {
    // The agent checks the range (and the host's stateless range).
    auto label = options.GetUint("flow-label", 0, UINT32_MAX);
    if (!label.ok()) return label.status();
    request.set_flow_label(static_cast<uint32_t>(label->value_or(0)));
  }
  auto wait = options.GetDuration("wait");
  if (!wait.ok()) return wait.status();
  if (*wait) ToProto(**wait, request.mutable_wait());
  v1::AddressFamily family = v1::ADDRESS_FAMILY_UNSPECIFIED;
  NETPROBE_RETURN_IF_ERROR(ApplySocketArgs(options, request.mutable_options(), &family));
  if (options.Has("source"))
    request.mutable_options()->set_source_address(options.Get("source"));
  request.set_family(family);
  request.set_resolve(!options.Has("numeric"));
  NETPROBE_RETURN_IF_ERROR(ApplyProbeCaptureArgs(options, &request));
  return request;
}

int RunTraceroute(const CommandContext& ctx) {
  auto request = BuildTracerouteRequest(ctx.options);
  if (!request.ok()) {
    std::fprintf(ctx.err, "netprobe traceroute: %s\n",
                 std::string(request.status().message()).c_str());
    return kExitBadArguments;
  }
  ProbeCapture capture;  // --capture FILE
  if (absl::Status opened = capture.Open(ctx, "traceroute"); !opened.ok()) {
    std::fprintf(ctx.err, "netprobe traceroute: %s\n",
                 std::string(opened.message()).c_str());
    return kExitBadArguments;
  }
  grpc::ClientContext context;
  ctx.ApplyDeadline(&context, absl::InfiniteDuration());
  CancelOnInterrupt interrupt(&context);
  auto stub = v1::Probes::NewStub(ctx.channel);
  auto reader = stub->Traceroute(&context, *request);
  const uint32_t max_ttl = request->has_max_ttl() ? request->max_ttl() : 30;
  const uint32_t probes = request->has_probes_per_hop() ? request->probes_per_hop() : 3;
  const uint32_t flows = request->has_flows() ? request->flows() : 1;
  TracerouteLines lines(probes, flows, ctx.options.Has("extensions"), request->resolve());
  bool announced = false, reached = false;
  StreamEndExit end_exit;
  v1::TracerouteEvents batch;
  while (reader->Read(&batch)) {
    for (const v1::TracerouteEvent& event : batch.events()) {
      if (ctx.json && ShownAsJson(event)) WriteJsonLine(ctx.out, event);
      if (event.has_capture()) {
        capture.Add(event.capture());
        continue;
      }
      std::string text;
      if (event.has_reply()) {
        const v1::TracerouteReply& reply = event.reply();
        if (!announced) {
          announced = true;
          const bool v6 = reply.target().family() == v1::ADDRESS_FAMILY_IPV6;
          // The agent's length (TCP: the SYN's); older agents leave it 0.
          const uint32_t length =
              reply.packet_length() != 0
                  ? reply.packet_length()
                  : (request->has_packet_length() ? request->packet_length()
                                                  : (v6 ? 80 : 60));
          text = FormatTracerouteHeader(reply.target(), max_ttl, length);
        }
        text += lines.Add(reply);
      } else if (event.has_summary()) {
        text = lines.Flush();
        reached = event.summary().reached_ttl() != 0;
      } else if (event.has_dropped()) {
        text = FormatDropped(event.dropped());
      } else if (event.has_end()) {
        end_exit.Note(event.end());
        text = lines.Flush() + FormatStreamEnd(event.end());
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
  if (!ctx.json) {
    const std::string rest = lines.Flush();
    std::fwrite(rest.data(), 1, rest.size(), ctx.out);
    std::fflush(ctx.out);
  }
  if (interrupt.interrupted()) return kExitInterrupted;
  if (!status.ok()) return ReportRpcError(ctx, "traceroute", status);
  return end_exit.Exit(reached ? kExitOk : kExitProbeFailed);
}

}  // namespace netprobe::client
