#include "client/commands/throughput_command.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/commands/probe_capture.h"
#include "client/commands/socket_args.h"
#include "client/exit_codes.h"
#include "client/interrupt.h"
#include "client/output/json_lines.h"
#include "client/output/tcp_text.h"
#include "client/output/throughput_text.h"
#include "client/stream_end_exit.h"
#include "common/posix_error.h"
#include "common/proto_time.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe::client {
namespace {

// iperf3 -n/-l/-w (1024-based) and -b (1000-based) with their flags' names.
struct Quantity {
  const char* name;
  const char* flag;
  double base;
};

// HOST with -p PORT as the request's target: "host:port", "[v6]:port".
absl::StatusOr<std::string> TargetWithPort(const std::string& host,
                                           std::optional<uint64_t> port) {
  if (!port) return host;
  const size_t colons = std::count(host.begin(), host.end(), ':');
  const bool bracketed = host.starts_with("[");
  if ((bracketed && host.find("]:") != std::string::npos) ||
      (!bracketed && colons == 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("-p/--port and the port in '", host, "' exclude each other"));
  }
  const bool v6 = !bracketed && colons > 1;
  return absl::StrCat(v6 ? "[" : "", host, v6 ? "]" : "", ":", *port);
}

}  // namespace

std::vector<OptionSpec> ThroughputOptions() {
  std::vector<OptionSpec> specs = {
      {'t', "time", "DURATION",
       "how long to transmit: seconds or 10s, 500ms (default 10s)"},
      {'n', "bytes", "BYTES",
       "bytes to transmit instead of a time, all streams (K/M/G: 1024-based)"},
      {'P', "parallel", "N", "parallel streams, 1..16 (default 1)"},
      {'R', "reverse", "", "the far end sends, the agent receives"},
      {0, "bidir", "", "both ends send at once"},
      {'u', "udp", "", "UDP instead of TCP"},
      {'b', "bitrate", "RATE",
       "target bits/s per stream (K/M/G: 1000-based; UDP default 1M, TCP unlimited)"},
      {'l', "length", "LEN",
       "bytes per write (TCP, default 128K) or datagram (UDP, default the path's MSS)"},
      {'w', "window", "WINDOW", "SO_SNDBUF and SO_RCVBUF on both ends (K/M: 1024-based)"},
      {0, "sndbuf", "BYTES", "the agent's SO_SNDBUF only (wins over -w on its side)"},
      {0, "rcvbuf", "BYTES", "the agent's SO_RCVBUF only (wins over -w on its side)"},
      {'C', "congestion", "ALGO",
       "TCP congestion control on both ends (cubic, bbr, ...)"},
      {'M', "set-mss", "MSS", "TCP maximum segment size (TCP_MAXSEG)"},
      {'N', "no-delay", "", "TCP_NODELAY"},
      {'O', "omit", "SECONDS", "leave out this long at the start (slow start)"},
      {'i', "interval", "INTERVAL", "between interval reports (default 1s)"},
      {'p', "port", "PORT", "the server's port (default 5201; or HOST:PORT)"},
      {0, "cport", "PORT", "the agent's source port of the data streams"},
      {'S', "tos", "TOS", "IP TOS / traffic class, decimal or 0x hex (both ends)"},
      {'I', "interface", "IFACE|ADDR", "send from this interface or source address"},
      {'B', "bind", "ADDR", "source address, like iperf3 -B"},
      {'4', "ipv4", "", "IPv4 only"},
      {'6', "ipv6", "", "IPv6 only"},
  };
  for (OptionSpec& spec : ProbeCaptureOptionSpecs()) specs.push_back(std::move(spec));
  return specs;
}

absl::StatusOr<uint64_t> ParseIperfQuantity(absl::string_view flag,
                                            absl::string_view text, double base) {
  const absl::string_view given = text;
  const auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": '", given, "' is not a number with an optional K, M, G or T suffix"));
  };
  if (text.empty()) return bad();
  double scale = 1;
  switch (absl::ascii_tolower(static_cast<unsigned char>(text.back()))) {
    case 't':
      scale *= base;
      [[fallthrough]];
    case 'g':
      scale *= base;
      [[fallthrough]];
    case 'm':
      scale *= base;
      [[fallthrough]];
    case 'k':
      scale *= base;
      text.remove_suffix(1);
      break;
    default:
      break;
  }
  double number = 0;
  // SimpleAtod takes "inf", "nan" and hex floats too: digits and a point only.
  if (text.empty() || text.find_first_not_of("0123456789.") != absl::string_view::npos ||
      !absl::SimpleAtod(text, &number)) {
    return bad();
  }
  const double value = std::round(number * scale);
  if (value > static_cast<double>(UINT64_MAX / 2)) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": '", given, "' is too large"));
  }
  return static_cast<uint64_t>(value);
}

absl::StatusOr<v1::ThroughputRequest> BuildThroughputRequest(
    const ParsedOptions& options) {
  v1::ThroughputRequest request;
  const std::vector<std::string>& args = options.positional();
  if (args.size() != 1) return absl::InvalidArgumentError("give one HOST[:PORT]");
  auto port = options.GetUint("port", 1, 65535);
  if (!port.ok()) return port.status();
  auto target = TargetWithPort(args[0], *port);
  if (!target.ok()) return target.status();
  request.set_target(*target);
  request.set_protocol(options.Has("udp") ? v1::ThroughputRequest::PROTOCOL_UDP
                                          : v1::ThroughputRequest::PROTOCOL_TCP);
  if (options.Has("reverse") && options.Has("bidir")) {
    return absl::InvalidArgumentError("-R and --bidir exclude each other");
  }
  request.set_direction(options.Has("reverse") ? v1::ThroughputRequest::DIRECTION_RECEIVE
                        : options.Has("bidir") ? v1::ThroughputRequest::DIRECTION_BOTH
                                               : v1::ThroughputRequest::DIRECTION_SEND);
  if (options.Has("time") && options.Has("bytes")) {
    return absl::InvalidArgumentError("-t and -n exclude each other");
  }
  // Ranges are the agent's to check: it names the field and the limit.
  const std::pair<const char*, google::protobuf::Duration* (v1::ThroughputRequest::*)()>
      durations[] = {
          {"time", &v1::ThroughputRequest::mutable_duration},
          {"omit", &v1::ThroughputRequest::mutable_omit},
          {"interval", &v1::ThroughputRequest::mutable_interval},
      };
  for (const auto& [name, field] : durations) {
    auto value = options.GetDuration(name);
    if (!value.ok()) return value.status();
    if (*value) ToProto(**value, (request.*field)());
  }
  auto parallel = options.GetUint("parallel", 0, UINT32_MAX);
  if (!parallel.ok()) return parallel.status();
  if (*parallel) request.set_parallel(static_cast<uint32_t>(**parallel));
  auto mss = options.GetUint("set-mss", 0, UINT32_MAX);
  if (!mss.ok()) return mss.status();
  if (*mss) request.set_mss(static_cast<uint32_t>(**mss));
  const Quantity quantities[] = {
      {"bytes", "-n/--bytes", 1024},   {"bitrate", "-b/--bitrate", 1000},
      {"length", "-l/--length", 1024}, {"window", "-w/--window", 1024},
      {"sndbuf", "--sndbuf", 1024},    {"rcvbuf", "--rcvbuf", 1024},
  };
  v1::SocketOptions* socket = request.mutable_options();
  for (const Quantity& q : quantities) {
    if (!options.Has(q.name)) continue;
    auto value = ParseIperfQuantity(q.flag, options.Get(q.name), q.base);
    if (!value.ok()) return value.status();
    const std::string name = q.name;
    if (name == "bytes") {
      request.set_bytes(*value);
    } else if (name == "bitrate") {
      request.set_bitrate(*value);
    } else if (*value > UINT32_MAX) {
      return absl::InvalidArgumentError(
          absl::StrCat(q.flag, ": '", options.Get(q.name), "' is too large"));
    } else if (name == "length") {
      request.set_length(static_cast<uint32_t>(*value));
    } else if (name == "window") {
      request.set_window(static_cast<uint32_t>(*value));
    } else if (name == "sndbuf") {
      socket->set_send_buffer(static_cast<uint32_t>(*value));
    } else {
      socket->set_receive_buffer(static_cast<uint32_t>(*value));
    }
  }
  request.set_congestion(options.Get("congestion"));
  v1::AddressFamily family = v1::ADDRESS_FAMILY_UNSPECIFIED;
  NETPROBE_RETURN_IF_ERROR(ApplySocketArgs(options, socket, &family));
  request.set_family(family);
  if (options.Has("bind")) {
    if (!socket->source_address().empty()) {
      return absl::InvalidArgumentError("-B and -I ADDR both give the source address");
    }
    socket->set_source_address(options.Get("bind"));
  }
  auto cport = options.GetUint("cport", 1, 65535);
  if (!cport.ok()) return cport.status();
  if (*cport) socket->set_source_port(static_cast<uint32_t>(**cport));
  socket->set_tcp_nodelay(options.Has("no-delay"));
  NETPROBE_RETURN_IF_ERROR(ApplyProbeCaptureArgs(options, &request));
  return request;
}

int RunThroughput(const CommandContext& ctx) {
  auto request = BuildThroughputRequest(ctx.options);
  if (!request.ok()) {
    std::fprintf(ctx.err, "netprobe throughput: %s\n",
                 std::string(request.status().message()).c_str());
    return kExitBadArguments;
  }
  ProbeCapture capture;  // --capture FILE
  if (absl::Status opened = capture.Open(ctx, "throughput"); !opened.ok()) {
    std::fprintf(ctx.err, "netprobe throughput: %s\n",
                 std::string(opened.message()).c_str());
    return kExitBadArguments;
  }
  grpc::ClientContext context;
  ctx.ApplyDeadline(&context, absl::InfiniteDuration());
  CancelOnInterrupt interrupt(&context);
  auto stub = v1::Probes::NewStub(ctx.channel);
  auto reader = stub->Throughput(&context, *request);
  ThroughputText text(request->protocol() == v1::ThroughputRequest::PROTOCOL_UDP);
  bool completed = false;
  std::string error;
  StreamEndExit end_exit;
  v1::ThroughputEvents batch;
  while (reader->Read(&batch)) {
    for (const v1::ThroughputEvent& event : batch.events()) {
      if (ctx.json && ShownAsJson(event)) WriteJsonLine(ctx.out, event);
      if (event.has_capture()) {
        capture.Add(event.capture());
        continue;
      }
      std::string lines;
      if (event.has_started()) {
        lines = text.Started(event.started());
      } else if (event.has_interval()) {
        lines = text.Add(event.interval());
      } else if (event.has_summary()) {
        lines = text.Summary(event.summary());
        error = FormatThroughputError(event.summary());
        completed = error.empty();
      } else if (event.has_dropped()) {
        lines = FormatDropped(event.dropped());
      } else if (event.has_end()) {
        end_exit.Note(event.end());
        lines = text.Flush() + FormatStreamEnd(event.end());
      }
      if (!ctx.json) std::fwrite(lines.data(), 1, lines.size(), ctx.out);
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
    const std::string rest = text.Flush();
    std::fwrite(rest.data(), 1, rest.size(), ctx.out);
    std::fflush(ctx.out);
  }
  // iperf3's "iperf3: error - ..." on stderr, after what was measured.
  if (!error.empty()) std::fputs(error.c_str(), ctx.err);
  if (interrupt.interrupted()) return kExitInterrupted;
  if (!status.ok()) return ReportRpcError(ctx, "throughput", status);
  return end_exit.Exit(completed ? kExitOk : kExitProbeFailed);
}

}  // namespace netprobe::client
