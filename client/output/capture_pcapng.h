#ifndef NETPROBE_CLIENT_OUTPUT_CAPTURE_PCAPNG_H_
#define NETPROBE_CLIENT_OUTPUT_CAPTURE_PCAPNG_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/output/pcapng_writer.h"
#include "netprobe/v1/capture.pb.h"

namespace netprobe::client {

// One pcapng section from the Capture streams of one or more agents (a
// "source" each): the blocks of PcapngWriter, mapped from the stream's events.
//
//   header   an Interface Description Block: if_name "<agent>/<interface>",
//            if_description naming the interface and the agent's address,
//            if_filter the agent's effective filter, its snaplen and link type.
//   packets  Enhanced Packet Blocks (a Packet's comment is the block's).
//   stats    kept; at Finish, one Interface Statistics Block per interface:
//            isb_ifrecv = received, isb_ifdrop = every drop between the wire
//            and the file (kernel + interface + agent + this client's merge),
//            isb_osdrop = kernel drops, isb_usrdeliv = delivered, start (the
//            header's arrival) and end (the stream's end), and a comment
//            with the breakdown.
//   end      the source's stream is over (EndSource).
//
// With one source, packets are written as they come, in the order the agent
// sent them. With several, they are merged in timestamp order: each held
// packet waits until every other source still running has shown a packet as
// late or later, or has ended, or it has been held for `hold` (as the client
// clock counts from its arrival). Timestamps never go back in the file: a
// packet older than the last one written (it arrived more than `hold` late)
// is left out and counted (late()), in its interface's drops. Held packets
// are bounded by `max_held_bytes`: above it the oldest are written early.
//
// Usage:
//   CapturePcapng pcapng(file, {.application = "netprobe 1.2.3"});
//   size_t a = pcapng.AddSource("a", "198.18.0.1:50051");   // before Begin
//   pcapng.Begin();                      // optional: the first header does
//   pcapng.Add(a, event, absl::Now());   // each event, in stream order
//   pcapng.Release(absl::Now());         // merging: now and then (~100 ms)
//   pcapng.EndSource(a, absl::Now());    // its stream ended (any way)
//   pcapng.Finish(absl::Now());          // held packets, then statistics
//
// Errors stick (as PcapngWriter's). Not thread-safe: callers feeding it from
// many threads hold one mutex around every call.
class CapturePcapng {
 public:
  struct Options {
    // The section's shb_userappl, e.g. "netprobe 0.9.0".
    std::string application;
    // Merging: the longest a packet waits for the other sources.
    absl::Duration hold = absl::Seconds(1);
    // Merging: the most captured bytes held at once.
    size_t max_held_bytes = size_t{64} << 20;
    // Why the agent drops (CaptureStats.agent_dropped), for the statistics
    // comment. A probe's capture also drops beyond its packet limit.
    std::string agent_drops_why = "the client read too slowly";
  };

  // `out` must outlive this; it is not closed here.
  CapturePcapng(FILE* out, Options options);

  // A capture stream; `name` labels its interface, `address` (may be empty)
  // is named in its description. REQUIRES: before Begin.
  size_t AddSource(std::string name, std::string address);

  // The Section Header Block (PcapngWriter::DefaultSection(application)).
  // Optional: the first header begins the section if this was not called,
  // so a file whose agents all refused stays empty.
  absl::Status Begin();

  // The next event of `source`'s stream, which arrived at `now`. Malformed
  // packed records: INVALID_ARGUMENT and nothing of the batch is kept;
  // packets before the header: FAILED_PRECONDITION.
  absl::Status Add(size_t source, const v1::CaptureEvent& event, absl::Time now);
  absl::Status AddHeader(size_t source, const v1::CaptureHeader& header, absl::Time now);
  absl::Status AddPackets(size_t source, const v1::PacketBatch& packets, absl::Time now);
  void AddStats(size_t source, const v1::CaptureStats& stats);
  // `source`'s stream is over (its StreamEnd, its RPC's end, or a failure):
  // the merge no longer waits for it. Idempotent; the first time counts.
  absl::Status EndSource(size_t source, absl::Time now);

  // Merging: writes the held packets whose turn has come by `now`.
  absl::Status Release(absl::Time now);

  // Writes every held packet, then an Interface Statistics Block for each
  // interface described. Once; sources not yet ended end at `now`. Nothing
  // when no section was begun.
  absl::Status Finish(absl::Time now);

  absl::Status Flush() { return writer_.Flush(); }

  // Per source: its interface was described (a header came).
  bool began(size_t source) const { return sources_[source].interface_id.has_value(); }
  bool any_began() const;
  // Packets of `source` written to the file so far.
  uint64_t written(size_t source) const { return sources_[source].written; }
  // Packets of `source` left out: older than one already written.
  uint64_t late(size_t source) const { return sources_[source].late; }
  // Packets written before their turn because held bytes hit the bound.
  uint64_t written_early() const { return written_early_; }
  size_t held_bytes() const { return held_bytes_; }
  size_t held_packets() const { return held_.size(); }
  bool merging() const { return sources_.size() > 1; }

  // The ISB comment for `stats`, e.g. "kernel dropped 0, interface dropped
  // 0, agent dropped 3 (the client read too slowly)" (`agent_drops_why` in
  // the parentheses), and ", merge left out N (...)" when `late`.
  static std::string DropBreakdown(
      const v1::CaptureStats& stats, uint64_t late,
      absl::string_view agent_drops_why = "the client read too slowly");

 private:
  struct Source {
    std::string name;
    std::string address;
    std::optional<uint32_t> interface_id;
    std::string interface;
    std::optional<absl::Time> start, end;
    std::optional<v1::CaptureStats> stats;
    bool ended = false;
    // The latest packet timestamp seen (ns since the epoch).
    std::optional<uint64_t> watermark;
    uint64_t written = 0;
    uint64_t late = 0;
  };
  struct Held {
    uint64_t nanos = 0;  // the packet's timestamp
    uint64_t order = 0;  // arrival order: ties keep it
    size_t source = 0;
    uint32_t original_length = 0;
    std::string data;
    std::string comment;
  };
  struct Later {
    bool operator()(const Held& a, const Held& b) const {
      return a.nanos != b.nanos ? a.nanos > b.nanos : a.order > b.order;
    }
  };
  struct Arrival {
    absl::Time arrived;
    uint64_t nanos = 0;
  };

  absl::Status Hold(size_t source, uint64_t nanos, uint32_t original_length,
                    absl::string_view data, absl::string_view comment, absl::Time now);
  // The head may go: every other running source has shown a timestamp at
  // least as late.
  bool OthersCaughtUp(const Held& head) const;
  absl::Status WriteHead();

  PcapngWriter writer_;
  const Options options_;
  bool begun_ = false;
  bool finished_ = false;
  std::vector<Source> sources_;
  std::vector<Held> held_;        // a heap by Later: the earliest packet first
  std::deque<Arrival> arrivals_;  // held (or since written) packets, in arrival order
  uint64_t release_until_ = 0;    // every held packet up to this time may go
  uint64_t next_order_ = 0;
  size_t held_bytes_ = 0;
  std::optional<uint64_t> last_written_;
  uint64_t written_early_ = 0;
};

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_CAPTURE_PCAPNG_H_
