#include "client/output/capture_pcapng.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/packet_records.h"
#include "common/proto_time.h"

namespace netprobe::client {
namespace {

// Nanoseconds since the epoch, as PcapngWriter writes them (times before the
// epoch are the epoch).
uint64_t PacketNanos(absl::Time time) {
  if (time <= absl::UnixEpoch()) return 0;
  return static_cast<uint64_t>(absl::ToUnixNanos(time));
}

absl::Time FromPacketNanos(uint64_t nanos) {
  return absl::FromUnixNanos(static_cast<int64_t>(nanos));
}

absl::Span<const uint8_t> Bytes(absl::string_view data) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(data.data()), data.size());
}

}  // namespace

CapturePcapng::CapturePcapng(FILE* out, Options options)
    : writer_(out), options_(std::move(options)) {}

size_t CapturePcapng::AddSource(std::string name, std::string address) {
  Source source;
  source.name = std::move(name);
  source.address = std::move(address);
  sources_.push_back(std::move(source));
  return sources_.size() - 1;
}

absl::Status CapturePcapng::Begin() {
  if (begun_) return absl::FailedPreconditionError("pcapng section begun twice");
  begun_ = true;
  return writer_.Begin(PcapngWriter::DefaultSection(options_.application));
}

bool CapturePcapng::any_began() const {
  return std::any_of(sources_.begin(), sources_.end(),
                     [](const Source& s) { return s.interface_id.has_value(); });
}

absl::Status CapturePcapng::Add(size_t source, const v1::CaptureEvent& event,
                                absl::Time now) {
  switch (event.event_case()) {
    case v1::CaptureEvent::kHeader:
      return AddHeader(source, event.header(), now);
    case v1::CaptureEvent::kPackets:
      return AddPackets(source, event.packets(), now);
    case v1::CaptureEvent::kStats:
      AddStats(source, event.stats());
      return absl::OkStatus();
    case v1::CaptureEvent::kEnd:
      return EndSource(source, now);
    default:
      return absl::OkStatus();
  }
}

absl::Status CapturePcapng::AddHeader(size_t source, const v1::CaptureHeader& header,
                                      absl::Time now) {
  Source& s = sources_[source];
  if (s.interface_id) return absl::OkStatus();  // one interface per stream
  if (!begun_) {
    if (absl::Status ok = Begin(); !ok.ok()) return ok;
  }
  PcapngWriter::Interface described;
  described.dlt = header.link_type();
  described.snaplen = header.snaplen();
  const std::string& interface = header.interface().empty() ? "any" : header.interface();
  described.name = absl::StrCat(s.name, "/", interface);
  described.description = absl::StrCat(
      interface, " on netprobe agent ", s.name,
      s.address.empty() || s.address == s.name ? std::string()
                                               : absl::StrCat(" (", s.address, ")"),
      header.link_type_name().empty()
          ? std::string()
          : absl::StrCat(", link-type ", header.link_type_name()));
  described.filter = header.effective_filter();
  absl::StatusOr<uint32_t> id = writer_.AddInterface(described);
  if (!id.ok()) return id.status();
  s.interface_id = *id;
  s.interface = interface;
  s.start = now;
  return absl::OkStatus();
}

absl::Status CapturePcapng::AddPackets(size_t source, const v1::PacketBatch& packets,
                                       absl::Time now) {
  Source& s = sources_[source];
  if (!s.interface_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("agent ", s.name, " sent packets before its capture header"));
  }
  if (!merging()) {
    if (!packets.records().empty()) {
      absl::StatusOr<size_t> n = writer_.WriteRecords(*s.interface_id, packets.records());
      if (!n.ok()) return n.status();
      s.written += *n;
    }
    for (const v1::Packet& p : packets.packets()) {
      absl::Status ok =
          writer_.WritePacket(*s.interface_id, FromProto(p.time()), p.original_length(),
                              Bytes(p.data()), p.comment());
      if (!ok.ok()) return ok;
      ++s.written;
    }
    return absl::OkStatus();
  }
  if (!packets.records().empty()) {
    // Checked whole first: a malformed batch keeps nothing.
    absl::StatusOr<size_t> count = CountPacketRecords(packets.records());
    if (!count.ok()) return count.status();
    PacketRecordReader reader(packets.records());
    PacketRecord r;
    while (reader.Next(&r)) {
      absl::Status ok = Hold(source, uint64_t{r.seconds} * 1000000000 + r.nanos,
                             r.original_length, r.data, {}, now);
      if (!ok.ok()) return ok;
    }
  }
  for (const v1::Packet& p : packets.packets()) {
    absl::Status ok = Hold(source, PacketNanos(FromProto(p.time())), p.original_length(),
                           p.data(), p.comment(), now);
    if (!ok.ok()) return ok;
  }
  return absl::OkStatus();
}

void CapturePcapng::AddStats(size_t source, const v1::CaptureStats& stats) {
  sources_[source].stats = stats;
}

absl::Status CapturePcapng::EndSource(size_t source, absl::Time now) {
  Source& s = sources_[source];
  if (s.ended) return absl::OkStatus();
  s.ended = true;
  s.end = now;
  return merging() ? Release(now) : absl::OkStatus();
}

absl::Status CapturePcapng::Hold(size_t source, uint64_t nanos, uint32_t original_length,
                                 absl::string_view data, absl::string_view comment,
                                 absl::Time now) {
  Source& s = sources_[source];
  s.watermark = std::max(s.watermark.value_or(0), nanos);
  if (last_written_ && nanos < *last_written_) {
    // Its turn has passed: written now, time would go back in the file.
    ++s.late;
    return absl::OkStatus();
  }
  Held held;
  held.nanos = nanos;
  held.order = next_order_++;
  held.source = source;
  held.original_length = original_length;
  held.data = std::string(data);
  held.comment = std::string(comment);
  held_bytes_ += held.data.size() + held.comment.size();
  held_.push_back(std::move(held));
  std::push_heap(held_.begin(), held_.end(), Later());
  arrivals_.push_back({now, nanos});
  while (held_bytes_ > options_.max_held_bytes && !held_.empty()) {
    ++written_early_;
    if (absl::Status ok = WriteHead(); !ok.ok()) return ok;
  }
  return absl::OkStatus();
}

bool CapturePcapng::OthersCaughtUp(const Held& head) const {
  for (size_t i = 0; i < sources_.size(); ++i) {
    const Source& s = sources_[i];
    if (i == head.source || s.ended) continue;
    if (!s.watermark || *s.watermark < head.nanos) return false;
  }
  return true;
}

absl::Status CapturePcapng::WriteHead() {
  std::pop_heap(held_.begin(), held_.end(), Later());
  Held held = std::move(held_.back());
  held_.pop_back();
  held_bytes_ -= held.data.size() + held.comment.size();
  Source& s = sources_[held.source];
  last_written_ = std::max(last_written_.value_or(0), held.nanos);
  absl::Status ok =
      writer_.WritePacket(*s.interface_id, FromPacketNanos(held.nanos),
                          held.original_length, Bytes(held.data), held.comment);
  if (ok.ok()) ++s.written;
  return ok;
}

absl::Status CapturePcapng::Release(absl::Time now) {
  // Packets held for `hold` go, and with them every earlier one.
  while (!arrivals_.empty() && arrivals_.front().arrived + options_.hold <= now) {
    release_until_ = std::max(release_until_, arrivals_.front().nanos);
    arrivals_.pop_front();
  }
  while (!held_.empty()) {
    const Held& head = held_.front();
    if (head.nanos > release_until_ && !OthersCaughtUp(head)) break;
    if (absl::Status ok = WriteHead(); !ok.ok()) return ok;
  }
  // Arrivals of packets already written no longer matter: their expiry
  // would release nothing later than what is written. (Arrivals out of time
  // order wait behind an earlier one for at most `hold`.)
  while (!arrivals_.empty() && last_written_ &&
         arrivals_.front().nanos < *last_written_) {
    arrivals_.pop_front();
  }
  if (held_.empty()) arrivals_.clear();
  return absl::OkStatus();
}

std::string CapturePcapng::DropBreakdown(const v1::CaptureStats& stats, uint64_t late,
                                         absl::string_view agent_drops_why) {
  std::string out =
      absl::StrCat("kernel dropped ", stats.kernel_dropped(), ", interface dropped ",
                   stats.interface_dropped(), ", agent dropped ", stats.agent_dropped(),
                   " (", agent_drops_why, ")");
  if (late > 0) {
    absl::StrAppend(&out, ", merge left out ", late,
                    " (they came after later packets had been written)");
  }
  return out;
}

absl::Status CapturePcapng::Finish(absl::Time now) {
  if (finished_) return absl::FailedPreconditionError("pcapng capture finished twice");
  finished_ = true;
  if (!begun_) return absl::OkStatus();  // no stream began: nothing to write
  while (!held_.empty()) {
    if (absl::Status ok = WriteHead(); !ok.ok()) return ok;
  }
  arrivals_.clear();
  for (Source& s : sources_) {
    if (!s.interface_id) continue;
    if (!s.end) s.end = now;
    PcapngWriter::InterfaceStats isb;
    isb.time = *s.end;
    isb.start = s.start;
    isb.end = s.end;
    if (s.stats) {
      const v1::CaptureStats& st = *s.stats;
      isb.received = st.received();
      isb.dropped =
          st.kernel_dropped() + st.interface_dropped() + st.agent_dropped() + s.late;
      isb.os_dropped = st.kernel_dropped();
      isb.delivered = st.delivered();
      isb.comment = DropBreakdown(st, s.late, options_.agent_drops_why);
    } else {
      if (s.late > 0) isb.dropped = s.late;
      isb.comment = absl::StrCat("no statistics from agent ", s.name,
                                 " (its stream ended before it sent any); ", s.written,
                                 s.written == 1 ? " packet" : " packets", " written");
      if (s.late > 0) absl::StrAppend(&isb.comment, ", merge left out ", s.late);
    }
    if (absl::Status ok = writer_.WriteStats(*s.interface_id, isb); !ok.ok()) return ok;
  }
  return absl::OkStatus();
}

}  // namespace netprobe::client
