#ifndef NETPROBE_CLIENT_COMMANDS_PROBE_CAPTURE_H_
#define NETPROBE_CLIENT_COMMANDS_PROBE_CAPTURE_H_

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/command_context.h"
#include "client/output/probe_capture_file.h"
#include "common/option_parser.h"
#include "netprobe/v1/capture.pb.h"

namespace netprobe::client {

// --capture FILE and its knobs, for the probe commands whose request has a
// `capture` field: ping, tcp, udp, traceroute, throughput (mtr and tracepath
// send a TracerouteRequest too, but the agent captures neither).
std::vector<OptionSpec> ProbeCaptureOptionSpecs();

// The request's `capture` from --capture, --capture-snaplen and
// --capture-max-packets; nullopt without --capture. INVALID_ARGUMENT naming
// the flag for `-` as FILE (stdout carries the text or JSON), a knob without
// --capture, or a value out of the agent's range.
absl::StatusOr<std::optional<v1::ProbeCaptureOptions>> ParseProbeCaptureArgs(
    const ParsedOptions& options);

// Sets request->capture from the options (see ParseProbeCaptureArgs).
template <typename Request>
absl::Status ApplyProbeCaptureArgs(const ParsedOptions& options, Request* request) {
  absl::StatusOr<std::optional<v1::ProbeCaptureOptions>> capture =
      ParseProbeCaptureArgs(options);
  if (!capture.ok()) return capture.status();
  if (*capture) *request->mutable_capture() = **capture;
  return absl::OkStatus();
}

// Whether --json shows an event of a probe's stream: every event except
// captured packets (they go to the --capture file; the capture's header and
// stats are shown).
template <typename Event>
bool ShownAsJson(const Event& event) {
  return !(event.has_capture() && event.capture().has_packets());
}

// One run's --capture FILE: opened before the call, fed the stream's
// ProbeCaptureEvents, closed after it. Not thread-safe.
class ProbeCapture {
 public:
  ProbeCapture() = default;
  ~ProbeCapture();
  ProbeCapture(const ProbeCapture&) = delete;
  ProbeCapture& operator=(const ProbeCapture&) = delete;

  // Opens --capture FILE ({agent} in FILE becomes ctx.agent_name) for
  // `probe` ("ping"); does nothing without --capture. An unwritable FILE:
  // INVALID_ARGUMENT "--capture FILE: <why>", before any call is made.
  absl::Status Open(const CommandContext& ctx, absl::string_view probe);
  bool active() const { return file_ != nullptr; }

  // One event of the stream. A write error sticks (failed()).
  void Add(const v1::ProbeCaptureEvent& event);
  // A write failed: the caller cancels the call, nothing more can be kept.
  bool failed() const { return !error_.ok(); }

  // After the call ended with `status`: the statistics blocks, then close.
  // When the agent never started the capture (it refused the call, or was
  // interrupted before), the file is removed: no empty file stays behind.
  // What went wrong is printed on ctx.err at once, prefixed "netprobe
  // <probe>: "; the closing line "N packets captured to FILE, M dropped"
  // when this object goes (the end of the command's run), so it comes after
  // the command's own statistics, as tcpdump's. Returns 0 when the command goes on
  // to its own exit code, else the exit code to return: kExitProbeFailed
  // when writing failed, kExitAgentError when the call succeeded but no
  // capture came (an agent without captures tied to probes ignores the
  // field).
  int Finish(const CommandContext& ctx, const grpc::Status& status, bool interrupted);

 private:
  void CloseAndMaybeRemove(bool remove);

  std::string probe_;
  std::string path_;
  FILE* file_ = nullptr;
  bool created_ = false;       // Open created the file
  bool regular_file_ = false;  // only a regular file is truncated or removed
  std::unique_ptr<ProbeCaptureFile> writer_;
  absl::Status error_;
  FILE* closing_to_ = nullptr;  // where the closing line goes
  std::string closing_line_;
};

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_PROBE_CAPTURE_H_
