#include "client/output/probe_capture_file.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace netprobe::client {

ProbeCaptureFile::ProbeCaptureFile(FILE* out, std::string agent, std::string address,
                                   std::string application)
    : pcapng_(out, {.application = std::move(application),
                    .agent_drops_why = "beyond the capture's packet limit, or the client "
                                       "read too slowly"}) {
  pcapng_.AddSource(std::move(agent), std::move(address));
}

absl::Status ProbeCaptureFile::Add(const v1::ProbeCaptureEvent& event, absl::Time now) {
  switch (event.event_case()) {
    case v1::ProbeCaptureEvent::kHeader:
      if (absl::Status ok = pcapng_.AddHeader(0, event.header(), now); !ok.ok())
        return ok;
      return pcapng_.Flush();
    case v1::ProbeCaptureEvent::kPackets:
      if (absl::Status ok = pcapng_.AddPackets(0, event.packets(), now); !ok.ok()) {
        return ok;
      }
      return pcapng_.Flush();
    case v1::ProbeCaptureEvent::kStats:
      stats_ = event.stats();
      pcapng_.AddStats(0, event.stats());
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

absl::Status ProbeCaptureFile::End(absl::Time now) {
  if (!began()) return absl::OkStatus();
  if (absl::Status ok = pcapng_.EndSource(0, now); !ok.ok()) return ok;
  if (absl::Status ok = pcapng_.Finish(now); !ok.ok()) return ok;
  return pcapng_.Flush();
}

uint64_t ProbeCaptureDropped(const v1::CaptureStats& stats) {
  return stats.kernel_dropped() + stats.interface_dropped() + stats.agent_dropped();
}

std::string FormatProbeCaptureLine(absl::string_view file, uint64_t captured,
                                   const std::optional<v1::CaptureStats>& stats) {
  std::string line = absl::StrCat(captured, captured == 1 ? " packet" : " packets",
                                  " captured to ", file);
  if (!stats) {
    absl::StrAppend(&line, " (the agent's counts did not arrive)\n");
    return line;
  }
  const uint64_t dropped = ProbeCaptureDropped(*stats);
  absl::StrAppend(&line, ", ", dropped, " dropped");
  if (dropped != 0) {
    absl::StrAppend(&line, " (kernel ", stats->kernel_dropped(), ", interface ",
                    stats->interface_dropped(), ", agent ", stats->agent_dropped(), ")");
  }
  absl::StrAppend(&line, "\n");
  return line;
}

}  // namespace netprobe::client
