#include "client/commands/mesh_command.h"

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/commands/cadence_args.h"
#include "client/commands/mesh_plan.h"
#include "client/commands/ping_targets.h"
#include "client/exit_codes.h"
#include "client/interrupt.h"
#include "client/output/mesh_matrix.h"
#include "client/stream_end_exit.h"
#include "common/posix_error.h"
#include "common/proto_time.h"
#include "netprobe/v1/agent.grpc.pb.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe::client {
namespace {

constexpr uint32_t kDefaultCount = 3;
constexpr absl::Duration kDefaultInterval = absl::Milliseconds(200);
constexpr absl::Duration kDefaultWait = absl::Seconds(1);
// GetInfo for a probe address is quick; a silent agent must not eat the
// round's whole deadline.
constexpr absl::Duration kInfoDeadline = absl::Seconds(5);
// Added to the pings' own length (count x interval + wait, per wave of
// calls) for their deadline when --timeout does not set one.
constexpr absl::Duration kDeadlineSlack = absl::Seconds(5);
// Ping calls one source runs at once; more chunks wait for a free lane. Well
// under the policy's default concurrent_probes_per_client (64), so other
// clients of the agent keep room.
constexpr size_t kCallsPerAgent = 16;

// What the round needs from the options.
struct MeshArgs {
  v1::PingRequest request;  // count, interval, timeout, family; no targets
  size_t targets_per_request = kMaxPingTargets;
  absl::Duration length;  // count x interval + wait: how long one ping runs
};

absl::StatusOr<MeshArgs> ParseMeshArgs(const ParsedOptions& options) {
  if (!options.positional().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", options.positional().front(),
                     "': the destinations are the agents themselves"));
  }
  MeshArgs args;
  NETPROBE_RETURN_IF_ERROR(ApplyCadenceArgs(options, 1, 100, &args.request));
  if (!options.Has("count")) args.request.set_count(kDefaultCount);
  if (!args.request.has_interval())
    ToProto(kDefaultInterval, args.request.mutable_interval());
  if (!args.request.has_timeout()) ToProto(kDefaultWait, args.request.mutable_timeout());
  if (options.Has("ipv4") && options.Has("ipv6")) {
    return absl::InvalidArgumentError("-4 and -6 exclude each other");
  }
  args.request.set_family(options.Has("ipv6")   ? v1::ADDRESS_FAMILY_IPV6
                          : options.Has("ipv4") ? v1::ADDRESS_FAMILY_IPV4
                                                : v1::ADDRESS_FAMILY_UNSPECIFIED);
  auto per_request = options.GetUint("targets-per-request", 1, kMaxPingTargets);
  if (!per_request.ok()) return per_request.status();
  if (*per_request) args.targets_per_request = **per_request;
  args.length = args.request.count() * FromProto(args.request.interval()) +
                FromProto(args.request.timeout());
  return args;
}

// What one source measured to one destination (by the address it pinged).
struct TargetResult {
  bool summarized = false;
  uint64_t sent = 0, received = 0;
  double loss_percent = 0;
  std::vector<absl::Duration> rtts;
};

// One Ping call of a source: a chunk of its destinations.
struct ChunkRun {
  size_t source = 0;
  std::vector<std::string> targets;
  grpc::Status status;
  bool interrupted = false;
  StreamEndExit end;  // the agent's shutdown (3) or the deadline (7) ended it
  std::map<std::string, TargetResult> by_target;
};

void RunChunk(const v1::PingRequest& base, const FanoutAgent& agent,
              std::chrono::system_clock::time_point deadline, ChunkRun* run) {
  v1::PingRequest request = base;
  for (const std::string& target : run->targets) request.add_targets(target);
  grpc::ClientContext context;
  context.set_deadline(deadline);
  CancelOnInterrupt interrupt(&context);
  auto stub = v1::Probes::NewStub(agent.channel);
  auto reader = stub->Ping(&context, request);
  v1::PingEvents batch;
  while (reader->Read(&batch)) {
    for (const v1::PingEvent& event : batch.events()) {
      if (event.has_reply()) {
        const v1::PingReply& reply = event.reply();
        if (reply.result().outcome() == v1::OUTCOME_OK && !reply.duplicate()) {
          run->by_target[reply.target().host()].rtts.push_back(FromProto(reply.rtt()));
        }
      } else if (event.has_summary()) {
        const v1::TargetSummary& s = event.summary();
        TargetResult& r = run->by_target[s.target().host()];
        r.summarized = true;
        r.sent = s.sent();
        r.received = s.received();
        r.loss_percent = s.loss_percent();
      } else if (event.has_end()) {
        run->end.Note(event.end());
      }
    }
  }
  run->status = reader->Finish();
  run->interrupted = interrupt.interrupted();
}

// The agent's probe address: its literal host, else GetInfo's answer.
struct AddressLookup {
  std::optional<std::string> address;
  grpc::Status rpc;     // GetInfo's failure: the agent failed
  std::string missing;  // GetInfo answered without an address of the family
  bool interrupted = false;
};

void LookUpAddress(const FanoutAgent& agent, v1::AddressFamily family,
                   std::chrono::system_clock::time_point deadline, AddressLookup* out) {
  out->address = IpLiteralHost(agent.spec.address, family);
  if (out->address) return;
  grpc::ClientContext context;
  const auto info_deadline =
      std::chrono::system_clock::now() + absl::ToChronoNanoseconds(kInfoDeadline);
  context.set_deadline(std::min(deadline, info_deadline));
  CancelOnInterrupt interrupt(&context);
  v1::AgentInfo info;
  out->rpc =
      v1::Agent::NewStub(agent.channel)->GetInfo(&context, v1::GetInfoRequest(), &info);
  out->interrupted = interrupt.interrupted();
  if (!out->rpc.ok()) return;
  auto address = ProbeAddressFromInfo(info, family);
  if (address.ok()) {
    out->address = *address;
  } else {
    out->missing = std::string(address.status().message());
  }
}

std::string RpcFailure(const char* what, const grpc::Status& status) {
  return absl::StrCat(what, ": ", ExitCodeMeaning(ExitCodeFor(status)), ": ",
                      status.error_message());
}

}  // namespace

std::vector<OptionSpec> MeshOptions() {
  return {
      {'c', "count", "N", "echo requests to each destination, 1..100 (default 3)"},
      {'i', "interval", "DURATION",
       "between requests to one destination (default 200ms)"},
      {'W', "wait", "DURATION", "time to wait for each reply (default 1s)"},
      {'4', "ipv4", "", "probe IPv4 addresses (the default)"},
      {'6', "ipv6", "", "probe IPv6 addresses"},
      {0, "targets-per-request", "N",
       "at most N destinations in one Ping call, for an agent policy's "
       "limits.targets_per_request (default 4096, the agent's own bound)"},
  };
}

int RunMesh(const CommandContext& ctx) {
  return RunMeshOnAgents(ctx, {FanoutAgent{{ctx.agent_name, ctx.agent}, ctx.channel}});
}

int RunMeshOnAgents(const CommandContext& ctx, const std::vector<FanoutAgent>& agents) {
  auto args = ParseMeshArgs(ctx.options);
  if (!args.ok()) {
    std::fprintf(ctx.err, "netprobe mesh: %s\n",
                 std::string(args.status().message()).c_str());
    return kExitBadArguments;
  }
  const size_t n = agents.size();
  // --timeout bounds the whole round; else GetInfo has kInfoDeadline and the
  // pings their length per wave of calls, plus kDeadlineSlack.
  const auto start = std::chrono::system_clock::now();
  const auto deadline = ctx.timeout ? start + absl::ToChronoNanoseconds(*ctx.timeout)
                                    : std::chrono::system_clock::time_point::max();

  // 1. Every agent's probe address, at once.
  std::vector<AddressLookup> lookups(n);
  {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < n; ++i) {
      threads.emplace_back(LookUpAddress, std::cref(agents[i]), args->request.family(),
                           deadline, &lookups[i]);
    }
    for (std::thread& t : threads) t.join();
  }

  // 2. Every source that answered pings the others' addresses, at once, in
  // chunks of at most targets_per_request.
  const v1::PingRequest& base = args->request;
  std::vector<ChunkRun> runs;
  for (size_t s = 0; s < n; ++s) {
    if (!lookups[s].rpc.ok() || lookups[s].interrupted) continue;
    // Each address once: the agent's events name the target by address, so
    // two agents sharing one (one host) share its result.
    std::vector<std::string> targets;
    std::set<std::string> seen;
    for (size_t d = 0; d < n; ++d) {
      if (d != s && lookups[d].address && seen.insert(*lookups[d].address).second) {
        targets.push_back(*lookups[d].address);
      }
    }
    for (auto& chunk : ChunkTargets(targets, args->targets_per_request)) {
      runs.push_back({s, std::move(chunk)});
    }
  }
  {
    // A source's chunks i, i + lanes, i + 2 x lanes, ... run one after
    // another on its lane i.
    std::vector<std::vector<ChunkRun*>> by_source(n);
    for (ChunkRun& run : runs) by_source[run.source].push_back(&run);
    size_t waves = 1;
    for (const auto& chunks : by_source) {
      waves = std::max(waves, (chunks.size() + kCallsPerAgent - 1) / kCallsPerAgent);
    }
    const auto ping_deadline = std::min(
        deadline, std::chrono::system_clock::now() +
                      absl::ToChronoNanoseconds(waves * args->length + kDeadlineSlack));
    std::vector<std::thread> threads;
    for (size_t s = 0; s < n; ++s) {
      const size_t lanes = std::min(kCallsPerAgent, by_source[s].size());
      for (size_t lane = 0; lane < lanes; ++lane) {
        threads.emplace_back([&, s, lane, lanes] {
          for (size_t i = lane; i < by_source[s].size(); i += lanes) {
            RunChunk(base, agents[s], ping_deadline, by_source[s][i]);
          }
        });
      }
    }
    for (std::thread& t : threads) t.join();
  }

  // 3. Each source's code and row.
  std::vector<int> codes(n, kExitOk);
  std::vector<std::string> failure(n);  // why the row is errors
  for (size_t s = 0; s < n; ++s) {
    if (lookups[s].interrupted) {
      codes[s] = kExitInterrupted;
      failure[s] = "interrupted";
    } else if (!lookups[s].rpc.ok()) {
      codes[s] = ExitCodeFor(lookups[s].rpc);
      failure[s] = RpcFailure("GetInfo", lookups[s].rpc);
    }
  }
  std::vector<std::map<std::string, TargetResult>> results(n);
  for (ChunkRun& run : runs) {
    const size_t s = run.source;
    if (run.interrupted) {
      codes[s] = kExitInterrupted;
      failure[s] = "interrupted";
    } else if (!run.status.ok() && failure[s].empty()) {
      codes[s] = ExitCodeFor(run.status);
      failure[s] = RpcFailure("Ping", run.status);
    } else if (run.end.shutdown() && failure[s].empty()) {
      codes[s] = kExitAgentUnreachable;
      failure[s] = "Ping: the agent shut down mid-run";
    }
    results[s].merge(run.by_target);
  }
  std::vector<MeshCell> cells;
  for (size_t s = 0; s < n; ++s) {
    for (size_t d = 0; d < n; ++d) {
      if (d == s) continue;
      MeshCell cell;
      cell.source = agents[s].spec.name;
      cell.destination = agents[d].spec.name;
      cell.address = lookups[d].address.value_or("");
      if (!failure[s].empty()) {
        cell.error = absl::StrCat("source ", failure[s]);
      } else if (!lookups[d].address) {
        // Not probed: unreachable as far as this round can tell.
        cell.loss_percent = 100;
        cell.error = absl::StrCat("destination has no probe address: ",
                                  lookups[d].missing.empty()
                                      ? RpcFailure("GetInfo", lookups[d].rpc)
                                      : lookups[d].missing);
        if (codes[s] == kExitOk) codes[s] = kExitProbeFailed;
      } else {
        auto it = results[s].find(*lookups[d].address);
        if (it == results[s].end() || !it->second.summarized) {
          cell.loss_percent = 100;
          cell.error = "the agent sent no summary for this destination";
          if (it != results[s].end()) cell.rtt_median = MedianRtt(it->second.rtts);
        } else {
          cell.sent = it->second.sent;
          cell.received = it->second.received;
          cell.loss_percent = it->second.loss_percent;
          cell.rtt_median = MedianRtt(it->second.rtts);
        }
        if (cell.received < args->request.count() && codes[s] == kExitOk) {
          codes[s] = kExitProbeFailed;
        }
      }
      cells.push_back(std::move(cell));
    }
  }

  // --timeout cut a source's pings short: 7, as ping's, after its cells.
  for (const ChunkRun& run : runs) {
    if (run.end.deadline() && failure[run.source].empty()) {
      codes[run.source] = kExitDeadline;
    }
  }

  // 4. The matrix, then the failed agents on stderr.
  std::string out;
  if (ctx.json) {
    for (const MeshCell& cell : cells)
      absl::StrAppend(&out, FormatMeshCellJson(cell), "\n");
  } else {
    std::vector<std::string> names;
    for (const FanoutAgent& agent : agents) names.push_back(agent.spec.name);
    out = FormatMeshMatrix(names, cells);
  }
  std::fwrite(out.data(), 1, out.size(), ctx.out);
  std::fflush(ctx.out);
  std::vector<std::string> failed, unaddressed;
  for (size_t i = 0; i < n; ++i) {
    if (!failure[i].empty()) {
      failed.push_back(
          absl::StrCat(agents[i].spec.name, " (exit ", codes[i], ", ", failure[i], ")"));
    }
    if (lookups[i].rpc.ok() && !lookups[i].address) {
      unaddressed.push_back(
          absl::StrCat(agents[i].spec.name, " (", lookups[i].missing, ")"));
    }
  }
  if (!failed.empty()) {
    std::fprintf(ctx.err,
                 "netprobe mesh: %zu of %zu agents failed, their rows are errors: %s\n",
                 failed.size(), n, absl::StrJoin(failed, ", ").c_str());
  }
  if (!unaddressed.empty()) {
    std::fprintf(ctx.err,
                 "netprobe mesh: no probe address, their columns are 100%% loss: %s\n",
                 absl::StrJoin(unaddressed, ", ").c_str());
  }
  return CombineExitCodes(codes);
}

}  // namespace netprobe::client
