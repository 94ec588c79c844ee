#include "client/commands/probe_capture.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "client/exit_codes.h"
#include "client/fanout/fanout.h"
#include "client/version.h"

namespace netprobe::client {
namespace {

// The agent's bounds (capture.proto), checked here to name the flag.
constexpr uint64_t kMaxSnaplen = 262144, kMaxPackets = 1000000;

// A write error as the CLI says it; the writer's other errors (the agent
// broke the stream's contract) as they are.
absl::Status Described(absl::Status status) {
  if (status.ok() || status.code() == absl::StatusCode::kFailedPrecondition) {
    return status;
  }
  return absl::Status(status.code(), absl::StrCat("writing failed: ", status.message()));
}

}  // namespace

std::vector<OptionSpec> ProbeCaptureOptionSpecs() {
  return {
      {0, "capture", "FILE",
       "write this probe's own packets, captured by the agent, to FILE (pcapng, each "
       "packet commented with its probe event; {agent} becomes the agent's name)"},
      {0, "capture-snaplen", "N",
       "with --capture: bytes kept per packet, 1..262144 (default: all)"},
      {0, "capture-max-packets", "N",
       "with --capture: at most N packets, 1..1000000 (default 100000); more are "
       "counted as dropped"},
  };
}

absl::StatusOr<std::optional<v1::ProbeCaptureOptions>> ParseProbeCaptureArgs(
    const ParsedOptions& options) {
  if (!options.Has("capture")) {
    for (const char* knob : {"capture-snaplen", "capture-max-packets"}) {
      if (options.Has(knob)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", knob, ": only with --capture FILE"));
      }
    }
    return std::nullopt;
  }
  const std::string file = options.Get("capture");
  if (file == "-") {
    return absl::InvalidArgumentError(
        "--capture -: stdout carries the probe's text (or JSON) output; give a file "
        "name (e.g. --capture probe.pcapng)");
  }
  if (file.empty()) return absl::InvalidArgumentError("--capture: give a file name");
  v1::ProbeCaptureOptions capture;
  auto snaplen = options.GetUint("capture-snaplen", 1, kMaxSnaplen);
  if (!snaplen.ok()) return snaplen.status();
  if (*snaplen) capture.set_snaplen(static_cast<uint32_t>(**snaplen));
  auto max_packets = options.GetUint("capture-max-packets", 1, kMaxPackets);
  if (!max_packets.ok()) return max_packets.status();
  if (*max_packets) capture.set_max_packets(**max_packets);
  return capture;
}

ProbeCapture::~ProbeCapture() {
  if (file_ != nullptr) std::fclose(file_);
  if (closing_to_ != nullptr) {
    std::fputs(closing_line_.c_str(), closing_to_);
    std::fflush(closing_to_);
  }
}

absl::Status ProbeCapture::Open(const CommandContext& ctx, absl::string_view probe) {
  if (!ctx.options.Has("capture")) return absl::OkStatus();
  probe_ = std::string(probe);
  path_ = ExpandAgentPlaceholder(ctx.options.Get("capture"), ctx.agent_name);
  // Opened without truncating: a file that exists keeps what it holds until
  // the agent starts the capture (the first header), and a file created here
  // is removed again if it never does.
  int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  created_ = fd >= 0;
  if (fd < 0 && errno == EEXIST) fd = open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--capture ", path_, ": ", std::strerror(errno)));
  }
  struct stat st;
  regular_file_ = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  file_ = fdopen(fd, "wb");
  if (file_ == nullptr) {
    const int err = errno;
    close(fd);
    CloseAndMaybeRemove(/*remove=*/true);
    return absl::InvalidArgumentError(
        absl::StrCat("--capture ", path_, ": ", std::strerror(err)));
  }
  std::setvbuf(file_, nullptr, _IOFBF, 64 << 10);
  writer_ = std::make_unique<ProbeCaptureFile>(file_, ctx.agent_name, ctx.agent,
                                               absl::StrCat("netprobe ", kClientVersion));
  return absl::OkStatus();
}

void ProbeCapture::Add(const v1::ProbeCaptureEvent& event) {
  if (!active() || !error_.ok()) return;
  if (event.has_header() && !writer_->began() && regular_file_ && !created_ &&
      ftruncate(fileno(file_), 0) != 0) {
    error_ = Described(absl::ErrnoToStatus(errno, "truncating"));
    return;
  }
  error_ = Described(writer_->Add(event, absl::Now()));
}

void ProbeCapture::CloseAndMaybeRemove(bool remove) {
  if (file_ != nullptr) {
    std::fclose(file_);
    file_ = nullptr;
  }
  if (remove && created_ && regular_file_) unlink(path_.c_str());
}

int ProbeCapture::Finish(const CommandContext& ctx, const grpc::Status& status,
                         bool interrupted) {
  if (!active()) return 0;
  if (error_.ok() && writer_->began()) error_ = Described(writer_->End(absl::Now()));
  if (!writer_->began()) {
    CloseAndMaybeRemove(/*remove=*/true);
    if (!error_.ok()) {
      std::fprintf(ctx.err, "netprobe %s: --capture %s: %s\n", probe_.c_str(),
                   path_.c_str(), std::string(error_.message()).c_str());
      return kExitAgentError;
    }
    if (status.ok() && !interrupted) {
      // The call succeeded without a capture: the agent does not know the
      // field (captures tied to probes came with issue 22).
      std::fprintf(ctx.err,
                   "netprobe %s: --capture %s: the agent sent no capture (an agent "
                   "without captures tied to probes ignores --capture); no file "
                   "written\n",
                   probe_.c_str(), path_.c_str());
      return kExitAgentError;
    }
    return 0;  // the command reports the agent's refusal or the interrupt
  }
  errno = 0;
  if (std::fclose(file_) != 0 && error_.ok()) {
    error_ = Described(absl::ErrnoToStatus(errno != 0 ? errno : EIO, "closing"));
  }
  file_ = nullptr;
  if (!error_.ok()) {
    std::fprintf(ctx.err, "netprobe %s: --capture %s: %s\n", probe_.c_str(),
                 path_.c_str(), std::string(error_.message()).c_str());
    return kExitProbeFailed;
  }
  closing_line_ = FormatProbeCaptureLine(path_, writer_->captured(), writer_->stats());
  closing_to_ = ctx.err;
  return 0;
}

}  // namespace netprobe::client
