#include "client/commands/tracepath_command.h"

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/commands/socket_args.h"
#include "client/exit_codes.h"
#include "client/interrupt.h"
#include "client/output/json_lines.h"
#include "client/output/tcp_text.h"
#include "client/output/tracepath_text.h"
#include "client/stream_end_exit.h"
#include "common/posix_error.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe::client {

std::vector<OptionSpec> TracepathOptions() {
  return {
      {'n', "numeric", "", "print addresses numerically (no reverse DNS on the agent)"},
      {'l', "length", "PKTLEN",
       "the first probes' length (default: the MTU of the interface they leave by)"},
      {'m', "max-hops", "MAX", "the largest TTL (default 30)"},
      {'p', "port", "PORT", "UDP destination port (default 33434)"},
      {'4', "ipv4", "", "IPv4 only"},
      {'6', "ipv6", "", "IPv6 only"},
  };
}

absl::StatusOr<v1::TracerouteRequest> BuildTracepathRequest(
    const ParsedOptions& options) {
  v1::TracerouteRequest request;
  const std::vector<std::string>& args = options.positional();
  if (args.size() != 1) return absl::InvalidArgumentError("give one TARGET");
  request.set_target(args[0]);
  request.set_method(v1::TRACEROUTE_METHOD_UDP);
  request.set_path_mtu(true);
  // Ranges are the agent's to check: it names the field and the limit.
  const std::pair<const char*, void (v1::TracerouteRequest::*)(uint32_t)> numbers[] = {
      {"length", &v1::TracerouteRequest::set_packet_length},
      {"max-hops", &v1::TracerouteRequest::set_max_ttl},
      {"port", &v1::TracerouteRequest::set_port},
  };
  for (const auto& [name, set] : numbers) {
    auto value = options.GetUint(name, 0, UINT32_MAX);
    if (!value.ok()) return value.status();
    if (*value) (request.*set)(static_cast<uint32_t>(**value));
  }
  v1::AddressFamily family = v1::ADDRESS_FAMILY_UNSPECIFIED;
  NETPROBE_RETURN_IF_ERROR(ApplySocketArgs(options, request.mutable_options(), &family));
  request.set_family(family);
  request.set_resolve(!options.Has("numeric"));
  return request;
}

int RunTracepath(const CommandContext& ctx) {
  auto request = BuildTracepathRequest(ctx.options);
  if (!request.ok()) {
    std::fprintf(ctx.err, "netprobe tracepath: %s\n",
                 std::string(request.status().message()).c_str());
    return kExitBadArguments;
  }
  grpc::ClientContext context;
  ctx.ApplyDeadline(&context, absl::InfiniteDuration());
  CancelOnInterrupt interrupt(&context);
  auto stub = v1::Probes::NewStub(ctx.channel);
  auto reader = stub->Traceroute(&context, *request);
  TracepathLines lines(request->has_probes_per_hop() ? request->probes_per_hop() : 3);
  bool reached = false;
  StreamEndExit end_exit;
  v1::TracerouteEvents batch;
  while (reader->Read(&batch)) {
    for (const v1::TracerouteEvent& event : batch.events()) {
      if (ctx.json) WriteJsonLine(ctx.out, event);
      std::string text;
      if (event.has_reply()) {
        text = lines.Add(event.reply());
      } else if (event.has_summary()) {
        text = lines.Summary(event.summary());
        reached = event.summary().reached_ttl() != 0;
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
  if (interrupt.interrupted()) return kExitInterrupted;
  if (!status.ok()) return ReportRpcError(ctx, "tracepath", status);
  return end_exit.Exit(reached ? kExitOk : kExitProbeFailed);
}

}  // namespace netprobe::client
