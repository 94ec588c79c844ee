#include "client/fanout/fanout.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "client/commands/capture_command.h"
#include "client/exit_codes.h"
#include "client/fanout/labeled_stream.h"
#include "client/fanout/line_labeler.h"
#include "client/output/mesh_table.h"
#include "netprobe/v1/common.pb.h"

namespace netprobe::client {
namespace {

constexpr char kPlaceholder[] = "{agent}";

bool Answered(int code) {
  return code == kExitOk || code == kExitProbeFailed || code == kExitDeadline;
}

}  // namespace

int CombineExitCodes(const std::vector<int>& codes) {
  if (codes.empty()) return kExitOk;
  if (std::find(codes.begin(), codes.end(), kExitInterrupted) != codes.end()) {
    return kExitInterrupted;
  }
  const size_t answered = std::count_if(codes.begin(), codes.end(), Answered);
  if (answered == codes.size()) return *std::max_element(codes.begin(), codes.end());
  if (answered > 0) return kExitPartialFailure;
  if (std::all_of(codes.begin(), codes.end(), [&](int c) { return c == codes[0]; })) {
    return codes[0];
  }
  // Mixed failures: the one a person can act on most directly comes first.
  for (int code : {kExitBadArguments, kExitNotAuthenticated, kExitAgentError,
                   kExitAgentUnreachable}) {
    if (std::find(codes.begin(), codes.end(), code) != codes.end()) return code;
  }
  return *std::max_element(codes.begin(), codes.end());
}

absl::Status CheckFanoutOptions(absl::string_view command, const ParsedOptions& options) {
  // The probe commands' --capture FILE (probe_capture.h).
  if (options.Has("capture") &&
      options.Get("capture").find(kPlaceholder) == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        command, " --capture ", options.Get("capture"),
        ": with many agents every agent needs its own file; put {agent} in the name "
        "(e.g. --capture '",
        command, "-{agent}.pcapng'), it becomes the agent's name"));
  }
  if (command != "capture" || !options.Has("write")) return absl::OkStatus();
  const std::string path = options.Get("write");
  // One file per agent, or one pcapng with an interface per agent.
  if (path.find(kPlaceholder) != std::string::npos) return absl::OkStatus();
  if (CaptureWritesPcapng(options)) return absl::OkStatus();
  if (path == "-") {
    return absl::InvalidArgumentError(
        "capture -w - with many agents: a pcap stream holds one interface, so the "
        "agents' packets cannot share it; add --pcapng for one pcapng stream with an "
        "interface per agent (e.g. --pcapng -w - | wireshark -k -i -), or give -w "
        "FILE with {agent} in it (e.g. -w 'cap-{agent}.pcap') for one pcap per agent");
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "capture -w ", path,
      ": with many agents one pcap file cannot hold them (pcap has one interface); "
      "add --pcapng (or name the file .pcapng) for one pcapng with an interface per "
      "agent, or put {agent} in the name (e.g. -w 'cap-{agent}.pcap') for one file "
      "per agent"));
}

std::string ExpandAgentPlaceholder(absl::string_view path, absl::string_view agent_name) {
  if (path.find(kPlaceholder) == absl::string_view::npos) return std::string(path);
  std::string safe(agent_name);
  for (char& c : safe) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        absl::string_view("._-@").find(c) == absl::string_view::npos) {
      c = '_';
    }
  }
  if (safe.find_first_not_of('.') == std::string::npos) {
    std::replace(safe.begin(), safe.end(), '.', '_');
  }
  return absl::StrReplaceAll(path, {{kPlaceholder, safe}});
}

int RunOnAgents(const CommandContext& base, const std::vector<FanoutAgent>& agents,
                const std::function<int(const CommandContext&)>& run,
                absl::string_view command, const char* mesh_title) {
  size_t width = 0;
  for (const FanoutAgent& agent : agents) width = std::max(width, agent.spec.name.size());

  OutputMerger merger(base.out, base.err);
  std::mutex mesh_mu;
  std::vector<MeshAgent> mesh(agents.size());
  std::vector<int> codes(agents.size(), kExitAgentError);
  std::vector<std::optional<grpc::Status>> errors(agents.size());
  std::vector<std::thread> threads;
  threads.reserve(agents.size());
  for (size_t i = 0; i < agents.size(); ++i) {
    mesh[i].name = agents[i].spec.name;
    threads.emplace_back([&, i] {
      const AgentSpec& spec = agents[i].spec;
      LabeledStream out(&merger, LabeledStream::Target::kOut,
                        LineLabeler(spec.name, width, base.json));
      LabeledStream err(&merger, LabeledStream::Target::kErr,
                        LineLabeler(spec.name, width, /*json=*/false));
      if (out.file() == nullptr || err.file() == nullptr) {
        merger.WriteErr(LineLabeler(spec.name, width, false)
                            .Text("netprobe: cannot open an output stream"));
        return;
      }
      CommandContext ctx = base;
      ctx.agent = spec.address;
      ctx.agent_name = spec.name;
      ctx.channel = agents[i].channel;
      ctx.out = out.file();
      ctx.err = err.file();
      if (mesh_title != nullptr) {
        ctx.on_summary = [&, i](const v1::TargetSummary& summary) {
          std::lock_guard<std::mutex> lock(mesh_mu);
          mesh[i].summaries.push_back(summary);
        };
      }
      ctx.on_rpc_error = [&, i](const grpc::Status& status) { errors[i] = status; };
      codes[i] = run(ctx);
      // Whatever the command left unflushed goes out before the table.
      out.Close();
      err.Close();
    });
  }
  for (std::thread& t : threads) t.join();

  std::vector<std::string> failed;
  for (size_t i = 0; i < agents.size(); ++i) {
    if (Answered(codes[i]) || codes[i] == kExitInterrupted) continue;
    mesh[i].failure = ExitCodeMeaning(codes[i]);
    failed.push_back(absl::StrCat(agents[i].spec.name, " (exit ", codes[i], ", ",
                                  mesh[i].failure, ")"));
  }
  // The table when some agent measured something; with none it would only
  // repeat the failures.
  const bool measured = std::any_of(
      mesh.begin(), mesh.end(), [](const MeshAgent& a) { return !a.summaries.empty(); });
  if (mesh_title != nullptr && !base.json && measured) {
    const std::string table = absl::StrCat("\n", FormatMeshTable(mesh_title, mesh));
    std::fwrite(table.data(), 1, table.size(), base.out);
    std::fflush(base.out);
  }
  if (base.json) {
    // One object per failed agent, so a pipeline sees it as the others'
    // results: {"agent":"NAME","error":{...}}.
    for (size_t i = 0; i < agents.size(); ++i) {
      if (Answered(codes[i]) || codes[i] == kExitInterrupted) continue;
      std::string error = absl::StrCat("{\"exit_code\":", codes[i],
                                       ",\"meaning\":", JsonQuote(mesh[i].failure));
      if (errors[i].has_value()) {
        absl::StrAppend(&error, ",\"code\":",
                        JsonQuote(absl::StatusCodeToString(
                            static_cast<absl::StatusCode>(errors[i]->error_code()))),
                        ",\"message\":", JsonQuote(errors[i]->error_message()));
      }
      const std::string line = absl::StrCat("{\"agent\":", JsonQuote(agents[i].spec.name),
                                            ",\"error\":", error, "}}\n");
      std::fwrite(line.data(), 1, line.size(), base.out);
    }
    std::fflush(base.out);
  }
  if (!failed.empty()) {
    const std::string how_many =
        failed.size() == agents.size()
            ? absl::StrCat("all ", agents.size(), " agents failed")
            : absl::StrCat(failed.size(), " of ", agents.size(), " agents failed");
    std::fprintf(base.err, "netprobe %s: %s: %s\n", std::string(command).c_str(),
                 how_many.c_str(), absl::StrJoin(failed, ", ").c_str());
  }
  return CombineExitCodes(codes);
}

}  // namespace netprobe::client
