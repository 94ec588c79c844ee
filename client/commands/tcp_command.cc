#include "client/commands/tcp_command.h"

#include <arpa/inet.h>

#include "absl/strings/str_cat.h"
#include "client/exit_codes.h"
#include "client/interrupt.h"
#include "client/output/json_lines.h"
#include "client/output/tcp_text.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe::client {
namespace {

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t ns = absl::ToInt64Nanoseconds(d);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

bool IsIpLiteral(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

}  // namespace

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
  auto count = options.GetUint("count", 1, 100000);
  if (!count.ok()) return count.status();
  if (*count) request.set_count(static_cast<uint32_t>(**count));
  auto interval = options.GetDuration("interval");
  if (!interval.ok()) return interval.status();
  if (*interval) SetDuration(**interval, request.mutable_interval());
  auto timeout = options.GetDuration("wait");
  if (!timeout.ok()) return timeout.status();
  if (*timeout) SetDuration(**timeout, request.mutable_timeout());
  auto concurrency = options.GetUint("concurrency", 1, 4096);
  if (!concurrency.ok()) return concurrency.status();
  if (*concurrency) request.set_concurrency(static_cast<uint32_t>(**concurrency));
  if (options.Has("interface")) {
    const std::string value = options.Get("interface");
    if (IsIpLiteral(value)) {
      request.mutable_options()->set_source_address(value);
    } else {
      request.mutable_options()->set_interface(value);
    }
  }
  if (options.Has("ipv4") && options.Has("ipv6")) {
    return absl::InvalidArgumentError("-4 and -6 exclude each other");
  }
  if (options.Has("ipv4")) request.set_family(v1::ADDRESS_FAMILY_IPV4);
  if (options.Has("ipv6")) request.set_family(v1::ADDRESS_FAMILY_IPV6);
  auto ttl = options.GetUint("ttl", 1, 255);
  if (!ttl.ok()) return ttl.status();
  if (*ttl) request.mutable_options()->set_ttl(static_cast<uint32_t>(**ttl));
  auto tos = options.GetUint("tos", 0, 255);
  if (!tos.ok()) return tos.status();
  if (*tos) request.mutable_options()->set_tos(static_cast<uint32_t>(**tos));
  auto read = options.GetUint("read", 0, 65536);
  if (!read.ok()) return read.status();
  if (*read) request.set_read_bytes(static_cast<uint32_t>(**read));
  request.set_send_payload(options.Get("send"));
  request.set_tcp_info(options.Has("info"));
  request.set_graceful_close(options.Has("graceful"));
  return request;
}

namespace {

// Writes one event as text lines or a JSON line (unflushed); returns true for
// the summary of a target that never connected.
bool ShowTcpEvent(const CommandContext& ctx, const v1::TcpConnectEvent& event) {
  const bool unreached = event.has_summary() && event.summary().received() == 0;
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
  while (reader->Read(&batch)) {
    for (const v1::TcpConnectEvent& event : batch.events()) {
      any_target_unreached |= ShowTcpEvent(ctx, event);
    }
    std::fflush(ctx.out);  // Pipelines see each batch as it arrives.
  }
  const grpc::Status status = reader->Finish();
  if (interrupt.interrupted()) return kExitInterrupted;
  if (!status.ok()) return ReportRpcError(ctx, "tcp", status);
  return any_target_unreached ? kExitProbeFailed : kExitOk;
}

}  // namespace netprobe::client
