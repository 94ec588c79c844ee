#include "client/commands/sockets_command.h"

#include <google/protobuf/arena.h>

#include <cstdio>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/commands/sockets_filter.h"
#include "client/exit_codes.h"
#include "client/interrupt.h"
#include "client/output/json_lines.h"
#include "client/output/sockets_text.h"
#include "client/output/tcp_text.h"
#include "client/stream_end_exit.h"
#include "common/posix_error.h"
#include "common/proto_time.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe::client {
namespace {

// What one round of the agent's stream adds up to (snapshots arrive in
// chunks; `complete` marks a round's last one): the entries where they were
// parsed, in the batches on the arena.
struct Round {
  std::vector<const v1::SocketEntry*> sockets;
  std::vector<const v1::SocketEntry*> removed;
  bool empty() const { return sockets.empty() && removed.empty(); }
  void Clear() {
    sockets.clear();
    removed.clear();
  }
};

// ss drops the State column when the filter selects one state: true for one
// state name that is not one of ss's groups.
bool SingleState(const v1::SocketsRequest& request) {
  if (request.listening_only() || request.states_size() != 1) return false;
  const std::string name = absl::AsciiStrToLower(request.states(0));
  for (const char* group : {"all", "connected", "synchronized", "bucket", "big"}) {
    if (name == group) return false;
  }
  return true;
}

// `ss -s` with no kind and no filter prints the summary and no table.
bool SummaryOnly(const ParsedOptions& options) {
  if (!options.Has("summary") || !options.positional().empty()) return false;
  for (const char* kind : {"tcp", "udp", "unix", "raw"}) {
    if (options.Has(kind)) return false;
  }
  return true;
}

}  // namespace

std::vector<OptionSpec> SocketsOptions() {
  return {
      {'t', "tcp", "", "TCP sockets"},
      {'u', "udp", "", "UDP sockets"},
      {'x', "unix", "", "unix sockets"},
      {'w', "raw", "", "raw sockets"},
      {'l', "listening", "", "listening (and unconnected datagram) sockets only"},
      {'a', "all", "", "sockets in every state (default: connected ones only)"},
      {'i', "info", "", "TCP_INFO of each TCP socket, as ss -i"},
      {'p', "processes", "", "the processes holding each socket, as ss -p"},
      {'m', "memory", "", "socket memory, as ss -m: skmem:(r,rb,t,tb,f,w,o,bl,d)"},
      {'o', "options", "", "timers, as ss -o: timer:(keepalive,119min,0)"},
      {'e', "extended", "", "details, as ss -e: uid, ino, sk (cookie), v6only"},
      {'H', "no-header", "", "no header line, as ss -H"},
      {'s', "summary", "",
       "socket counts, as ss -s; alone (no kind, no filter): the summary only"},
      {'n', "numeric", "",
       "rates in plain bps as ss -n (addresses and ports are always numeric)"},
      {'4', "ipv4", "", "IPv4 sockets only"},
      {'6', "ipv6", "", "IPv6 sockets only"},
      {0, "state", "STATE",
       "only this state (ss's names: established, syn-sent, listening, time-wait, "
       "connected, ...); repeatable",
       true},
      {0, "port", "PORT", "either side's port"},
      {0, "src", "CIDR", "local address or prefix"},
      {0, "dst", "CIDR", "peer address or prefix"},
      {0, "watch", "INTERVAL", "after the list, print what changes every INTERVAL"},
      {0, "duration", "DURATION",
       "with --watch: stop watching after DURATION (a policy with max_duration "
       "requires it)"},
  };
}

absl::StatusOr<v1::SocketsRequest> BuildSocketsRequest(const ParsedOptions& options) {
  v1::SocketsRequest request;
  if (options.Has("tcp")) request.add_protocols(v1::SOCKET_PROTOCOL_TCP);
  if (options.Has("udp")) request.add_protocols(v1::SOCKET_PROTOCOL_UDP);
  if (options.Has("unix")) request.add_protocols(v1::SOCKET_PROTOCOL_UNIX);
  if (options.Has("raw")) request.add_protocols(v1::SOCKET_PROTOCOL_RAW);
  const bool listening = options.Has("listening");
  const bool all = options.Has("all");
  const std::vector<std::string> states = options.GetAll("state");
  if ((listening || all) && !states.empty()) {
    return absl::InvalidArgumentError("--state: not with -l or -a (they choose states)");
  }
  if (listening && all) {
    return absl::InvalidArgumentError("-l and -a: give one (-a includes listeners)");
  }
  request.set_listening_only(listening);
  for (const std::string& s : states) request.add_states(s);
  request.set_local(options.Get("src"));
  request.set_remote(options.Get("dst"));
  // ss's filter expression, after the options: "state established and dport
  // = :443".
  NETPROBE_RETURN_IF_ERROR(ApplySsFilter(options.positional(), &request));
  if ((listening || all) && request.states_size() > 0 && states.empty()) {
    return absl::InvalidArgumentError(
        "filter: 'state' not with -l or -a (they choose states)");
  }
  request.set_summary(options.Has("summary"));
  // Like ss: without -a or -l, connected sockets only; but a summary alone
  // counts every state.
  if (!listening && !all && request.states_size() == 0 && !SummaryOnly(options)) {
    request.add_states("connected");
  }
  if (options.Has("ipv4") && options.Has("ipv6")) {
    return absl::InvalidArgumentError("-4 and -6: give one");
  }
  if (options.Has("ipv4")) request.set_family(v1::ADDRESS_FAMILY_IPV4);
  if (options.Has("ipv6")) request.set_family(v1::ADDRESS_FAMILY_IPV6);
  request.set_tcp_info(options.Has("info"));
  request.set_processes(options.Has("processes"));
  auto port = options.GetUint("port", 1, 65535);
  if (!port.ok()) return port.status();
  if (*port) request.set_port(static_cast<uint32_t>(**port));
  auto watch = options.GetDuration("watch");
  if (!watch.ok()) return watch.status();
  if (*watch) ToProto(**watch, request.mutable_watch_interval());
  auto duration = options.GetDuration("duration");
  if (!duration.ok()) return duration.status();
  if (*duration) {
    if (!*watch) return absl::InvalidArgumentError("--duration: needs --watch");
    ToProto(**duration, request.mutable_watch_duration());
  }
  return request;
}

int RunSockets(const CommandContext& ctx) {
  auto request = BuildSocketsRequest(ctx.options);
  if (!request.ok()) {
    std::fprintf(ctx.err, "netprobe sockets: %s\n",
                 std::string(request.status().message()).c_str());
    return kExitBadArguments;
  }
  SocketsTableOptions table;
  table.netid = request->protocols_size() != 1;
  table.processes = request->processes();
  table.tcp_info = request->tcp_info();
  table.numeric = ctx.options.Has("numeric");
  table.memory = ctx.options.Has("memory");
  table.timers = ctx.options.Has("options");
  table.details = ctx.options.Has("extended");
  table.header = !ctx.options.Has("no-header");
  table.state = !SingleState(*request);
  const bool watching = request->has_watch_interval();
  const bool summary_only = SummaryOnly(ctx.options);
  const absl::TimeZone zone = absl::LocalTimeZone();

  grpc::ClientContext context;
  ctx.ApplyDeadline(&context, watching ? absl::InfiniteDuration() : absl::Seconds(60));
  CancelOnInterrupt interrupt(&context);
  auto stub = v1::Probes::NewStub(ctx.channel);
  auto reader = stub->Sockets(&context, *request);
  // Batches are parsed onto an arena and stay there until their round is
  // printed: no entry is moved or freed one by one (10,000 sockets: a third
  // of the command's CPU went to that); the arena is reset between rounds.
  google::protobuf::ArenaOptions arena_options;
  arena_options.start_block_size = 16 << 10;
  arena_options.max_block_size = 64 << 10;  // 10,000 entries: about 50 blocks
  google::protobuf::Arena arena(arena_options);
  StreamEndExit end_exit;
  Round round;
  int rounds = 0;
  while (true) {
    v1::SocketsEvents* batch =
        google::protobuf::Arena::CreateMessage<v1::SocketsEvents>(&arena);
    if (!reader->Read(batch)) break;
    for (v1::SocketsEvent& event : *batch->mutable_events()) {
      if (ctx.json) {
        WriteJsonLine(ctx.out, event);
        continue;
      }
      std::string text;
      switch (event.event_case()) {
        case v1::SocketsEvent::kSnapshot: {
          const v1::SocketsSnapshot& snapshot = event.snapshot();
          for (const v1::SocketEntry& s : snapshot.sockets()) round.sockets.push_back(&s);
          for (const v1::SocketEntry& s : snapshot.removed()) round.removed.push_back(&s);
          if (!snapshot.complete()) break;
          if (rounds == 0 && snapshot.unavailable_size() > 0) {
            // An empty table must not read as "no such sockets" (ss falls
            // back to /proc for some of these; the agent says why instead).
            std::fprintf(ctx.err,
                         "netprobe sockets: not listed, this kernel cannot: %s\n",
                         absl::StrJoin(snapshot.unavailable(), "; ").c_str());
          }
          if (rounds++ > 0) {
            text = absl::StrFormat("--- %s: %d new or changed, %d gone\n",
                                   absl::FormatTime("%H:%M:%S", absl::Now(), zone),
                                   round.sockets.size(), round.removed.size());
          }
          if (snapshot.has_summary()) {
            absl::StrAppend(&text, FormatSocketsSummary(snapshot.summary()));
            if (summary_only) {
              round.Clear();
              break;
            }
            absl::StrAppend(&text, "\n");
          }
          if (rounds == 1 || !round.sockets.empty()) {
            // Moved, not appended, when it is all there is (a megabyte for
            // 10,000 sockets).
            std::string rows = FormatSocketsTable(round.sockets, table);
            if (text.empty()) {
              text = std::move(rows);
            } else {
              text += rows;
            }
          }
          for (const v1::SocketEntry* gone : round.removed) {
            absl::StrAppend(&text, "gone ", gone->netid(), " ", FormatLocal(*gone), " ",
                            FormatPeer(*gone), "\n");
          }
          round.Clear();
          break;
        }
        case v1::SocketsEvent::kDropped:
          text = FormatDropped(event.dropped());
          break;
        case v1::SocketsEvent::kEnd:
          end_exit.Note(event.end());
          text = FormatStreamEnd(event.end());
          break;
        default:
          break;
      }
      std::fwrite(text.data(), 1, text.size(), ctx.out);
    }
    std::fflush(ctx.out);
    if (round.empty()) arena.Reset();  // nothing points into the batches
  }
  const grpc::Status status = reader->Finish();
  if (interrupt.interrupted()) return kExitInterrupted;
  if (!status.ok()) return ReportRpcError(ctx, "sockets", status);
  return end_exit.Exit(kExitOk);
}

}  // namespace netprobe::client
