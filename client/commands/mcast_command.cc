#include "client/commands/mcast_command.h"

#include <limits>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/exit_codes.h"
#include "client/interrupt.h"
#include "client/output/json_lines.h"
#include "client/output/mcast_text.h"
#include "client/output/tcp_text.h"
#include "client/stream_end_exit.h"
#include "common/proto_time.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe::client {
namespace {

constexpr uint64_t kUint32Max = std::numeric_limits<uint32_t>::max();

// Splits "239.1.2.3:5000" / "[ff15::1]:5000". The port must be a number; its
// range is the agent's to check.
absl::Status ParseGroupPort(absl::string_view text, v1::MulticastRequest* out) {
  absl::string_view group, port;
  if (absl::StartsWith(text, "[")) {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos || close + 1 >= text.size() ||
        text[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat(
          "GROUP:PORT: '", text, "' is not [IPv6]:PORT (e.g. [ff15::1]:5000)"));
    }
    group = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("GROUP:PORT: '", text, "' has no port (e.g. 239.1.2.3:5000)"));
    }
    if (text.find(':') != colon) {
      return absl::InvalidArgumentError(absl::StrCat(
          "GROUP:PORT: '", text, "': put an IPv6 group in brackets, [ff15::1]:5000"));
    }
    group = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  uint64_t number = 0;
  if (!absl::SimpleAtoi(port, &number) || number > kUint32Max) {
    return absl::InvalidArgumentError(
        absl::StrCat("GROUP:PORT: port '", port, "' is not a number from 1 to 65535"));
  }
  out->set_group(std::string(group));
  out->set_port(static_cast<uint32_t>(number));
  return absl::OkStatus();
}

// What the client saw, for the statistics after Ctrl-C (the agent sends no
// summary after a cancel).
class LocalTally {
 public:
  void Joined(const v1::MulticastJoined& joined) { joined_ = joined.time(); }
  void Add(const v1::MulticastDatagram& datagram) {
    if (summary_.received() == 0 && joined_.seconds() != 0) {
      const absl::Duration d = FromProto(datagram.time()) - FromProto(joined_);
      ToProto(std::max(d, absl::ZeroDuration()), summary_.mutable_time_to_first());
    }
    summary_.set_received(summary_.received() + 1);
    sources_.insert(datagram.source().address());
    summary_.set_distinct_sources(sources_.size());
  }
  void Sent() { summary_.set_sent(summary_.sent() + 1); }
  const v1::MulticastSummary& summary() const { return summary_; }

 private:
  google::protobuf::Timestamp joined_;
  std::set<std::string> sources_;
  v1::MulticastSummary summary_;
};

}  // namespace

std::vector<OptionSpec> McastOptions() {
  return {
      {'I', "interface", "IFACE",
       "join (and send) on this interface (needed for IPv4 without a route "
       "to the group)"},
      {0, "source", "ADDR", "source-specific join (SSM): only datagrams from ADDR"},
      {'c', "count", "N", "stop after N datagrams (default: until interrupted)"},
      {0, "duration", "DURATION", "stop after this long (max 24h)"},
      {0, "max-payload", "BYTES", "payload bytes reported per datagram (default 256)"},
      {0, "send", "", "also send to the group"},
      {0, "payload", "TEXT", "what --send sends (default \"netprobe mcast seq=N\")"},
      {0, "send-interval", "DURATION", "between sends (default 1s, min 1ms)"},
      {'t', "ttl", "N", "TTL / hop limit of what --send sends (default 1)"},
      {0, "loopback", "", "deliver what --send sends to the agent's host too"},
  };
}

absl::StatusOr<v1::MulticastRequest> BuildMcastRequest(const ParsedOptions& options) {
  v1::MulticastRequest request;
  if (options.positional().size() != 1) {
    return absl::InvalidArgumentError(
        "GROUP:PORT: give exactly one, e.g. 239.1.2.3:5000 or [ff15::1]:5000");
  }
  if (absl::Status st = ParseGroupPort(options.positional()[0], &request); !st.ok()) {
    return st;
  }
  request.set_interface(options.Get("interface"));
  request.set_source(options.Get("source"));
  auto count = options.GetUint("count", 0, kUint32Max);
  if (!count.ok()) return count.status();
  if (*count) request.set_count(static_cast<uint32_t>(**count));
  for (const char* name : {"duration", "send-interval"}) {
    auto d = options.GetDuration(name);
    if (!d.ok()) return d.status();
    if (*d) {
      ToProto(**d, std::string(name) == "duration" ? request.mutable_duration()
                                                   : request.mutable_send_interval());
    }
  }
  auto max_payload = options.GetUint("max-payload", 0, kUint32Max);
  if (!max_payload.ok()) return max_payload.status();
  if (*max_payload) request.set_max_payload(static_cast<uint32_t>(**max_payload));
  request.set_send(options.Has("send"));
  request.set_send_payload(options.Get("payload"));
  auto ttl = options.GetUint("ttl", 1, 255);
  if (!ttl.ok()) return ttl.status();
  if (*ttl) request.set_send_ttl(static_cast<uint32_t>(**ttl));
  request.set_loopback(options.Has("loopback"));
  // Each send announced, so a Ctrl-C's statistics count what was sent.
  request.set_report_sends(request.send());
  return request;
}

int RunMcast(const CommandContext& ctx) {
  auto request = BuildMcastRequest(ctx.options);
  if (!request.ok()) {
    std::fprintf(ctx.err, "netprobe mcast: %s\n",
                 std::string(request.status().message()).c_str());
    return kExitBadArguments;
  }
  const std::string group_port = ctx.options.positional()[0];
  const absl::TimeZone zone = absl::LocalTimeZone();
  grpc::ClientContext context;
  ctx.ApplyDeadline(&context, absl::InfiniteDuration());
  CancelOnInterrupt interrupt(&context);
  auto stub = v1::Probes::NewStub(ctx.channel);
  auto reader = stub->Multicast(&context, *request);
  v1::MulticastEvents batch;
  LocalTally tally;
  bool any_received = false;
  StreamEndExit end_exit;
  std::optional<v1::MulticastSummary> final;
  while (reader->Read(&batch)) {
    for (const v1::MulticastEvent& event : batch.events()) {
      if (ctx.json) WriteJsonLine(ctx.out, event);
      std::string text;
      switch (event.event_case()) {
        case v1::MulticastEvent::kJoined:
          tally.Joined(event.joined());
          text = FormatMcastJoined(event.joined(), zone);
          break;
        case v1::MulticastEvent::kDatagram:
          any_received = true;
          tally.Add(event.datagram());
          text = FormatMcastDatagram(event.datagram(), zone);
          break;
        case v1::MulticastEvent::kSent:
          tally.Sent();
          break;
        case v1::MulticastEvent::kSummary:
          final = event.summary();
          any_received |= event.summary().received() > 0;
          text = FormatMcastSummary(group_port, event.summary());
          break;
        case v1::MulticastEvent::kDropped:
          text = FormatDropped(event.dropped());
          break;
        case v1::MulticastEvent::kEnd:
          end_exit.Note(event.end());
          text = FormatStreamEnd(event.end());
          break;
        default:
          break;
      }
      if (!ctx.json) std::fwrite(text.data(), 1, text.size(), ctx.out);
    }
    std::fflush(ctx.out);  // Pipelines see each batch as it arrives.
  }
  const grpc::Status status = reader->Finish();
  if (interrupt.interrupted()) {
    // The agent left the group at the cancel; the statistics are what this
    // client saw.
    if (ctx.json) {
      v1::MulticastEvent event;
      *event.mutable_summary() = tally.summary();
      WriteJsonLine(ctx.out, event);
    } else {
      const std::string text = FormatMcastSummary(group_port, tally.summary());
      std::fwrite(text.data(), 1, text.size(), ctx.out);
    }
    std::fflush(ctx.out);
    return kExitInterrupted;
  }
  if (!status.ok()) return ReportRpcError(ctx, "mcast", status);
  // A run that sends succeeds when every datagram went out (what others
  // received is theirs to say); one that only listens when it received.
  const bool sent_all =
      request->send() && final && final->sent() > 0 && final->send_errors() == 0;
  return end_exit.Exit(any_received || sent_all ? kExitOk : kExitProbeFailed);
}

}  // namespace netprobe::client
