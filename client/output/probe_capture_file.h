#ifndef NETPROBE_CLIENT_OUTPUT_PROBE_CAPTURE_FILE_H_
#define NETPROBE_CLIENT_OUTPUT_PROBE_CAPTURE_FILE_H_

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/output/capture_pcapng.h"
#include "netprobe/v1/capture.pb.h"

namespace netprobe::client {

// Writes what a probe's stream carries of its capture (ProbeCaptureEvent: a
// header, batches of packets each with its comment, the final stats) as one
// pcapng section, with the blocks of the capture command's files
// (CapturePcapng, one source): the OS and `application` in the section
// header; an interface named "<agent>/<interface>" ("edge1/any") with the
// agent's effective filter as if_filter; each packet with its comment (the
// probe event it belongs to); at End(), the interface statistics from the
// agent's last counts (isb_ifdrop: kernel + interface + agent drops). Nothing
// at all is written before the header arrives. Flushed after each event.
// Errors stick. Not thread-safe.
class ProbeCaptureFile {
 public:
  // `out` must outlive this object, which does not close it. `agent` is the
  // name the CLI uses for the agent, `address` its address (may be empty).
  ProbeCaptureFile(FILE* out, std::string agent, std::string address,
                   std::string application);

  // One event of the probe's stream, which arrived at `now` (this host's
  // clock). Packets before any header: FAILED_PRECONDITION.
  absl::Status Add(const v1::ProbeCaptureEvent& event, absl::Time now);

  // The stream is over (any way): the Interface Statistics Block (without
  // the agent's counts, e.g. after Ctrl-C, its comment says so), then a
  // flush. Once. Nothing when no header came.
  absl::Status End(absl::Time now);

  bool began() const { return pcapng_.began(0); }
  // Packets written.
  uint64_t captured() const { return pcapng_.written(0); }
  // The agent's last totals, if any arrived.
  const std::optional<v1::CaptureStats>& stats() const { return stats_; }

 private:
  CapturePcapng pcapng_;
  std::optional<v1::CaptureStats> stats_;
};

// Every packet lost between the wire and the file: kernel + interface +
// agent drops (the agent's: beyond the capture's packet limit, or for a
// client that read too slowly).
uint64_t ProbeCaptureDropped(const v1::CaptureStats& stats);

// The closing line on stderr, as tcpdump has its own:
//   "12 packets captured to ping.pcapng, 0 dropped"
//   "1 packet captured to t.pcapng, 3 dropped (kernel 0, interface 0, agent 3)"
//   "4 packets captured to t.pcapng (the agent's counts did not arrive)"
std::string FormatProbeCaptureLine(absl::string_view file, uint64_t captured,
                                   const std::optional<v1::CaptureStats>& stats);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_PROBE_CAPTURE_FILE_H_
