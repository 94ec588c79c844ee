#include "client/output/pcapng_writer.h"

#include <errno.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "client/output/capture_file_bytes.h"
#include "client/output/pcap_writer.h"
#include "common/packet_records.h"

namespace netprobe::client {
namespace {

constexpr uint32_t kSectionHeaderBlock = 0x0a0d0d0a;
constexpr uint32_t kInterfaceDescriptionBlock = 1;
constexpr uint32_t kInterfaceStatisticsBlock = 5;
constexpr uint32_t kEnhancedPacketBlock = 6;
constexpr uint32_t kByteOrderMark = 0x1a2b3c4d;

constexpr uint16_t kOptEnd = 0;
constexpr uint16_t kOptComment = 1;
constexpr uint16_t kShbHardware = 2;
constexpr uint16_t kShbOs = 3;
constexpr uint16_t kShbUserAppl = 4;
constexpr uint16_t kIfName = 2;
constexpr uint16_t kIfDescription = 3;
constexpr uint16_t kIfTsresol = 9;
constexpr uint16_t kIfFilter = 11;
constexpr uint16_t kIfOs = 12;
constexpr uint16_t kIsbStartTime = 2;
constexpr uint16_t kIsbEndTime = 3;
constexpr uint16_t kIsbIfRecv = 4;
constexpr uint16_t kIsbIfDrop = 5;
constexpr uint16_t kIsbOsDrop = 7;
constexpr uint16_t kIsbUsrDeliv = 8;

using capture_file_bytes::kDefaultSnaplen;
using capture_file_bytes::kMaxPacketBytes;
using capture_file_bytes::PadTo32Bits;
using capture_file_bytes::Put;
// An option's length is 16 bits.
constexpr size_t kMaxOptionBytes = std::numeric_limits<uint16_t>::max() & ~size_t{3};

void PutOption(std::vector<uint8_t>& out, uint16_t code, absl::string_view value) {
  if (value.empty()) return;
  value = value.substr(0, kMaxOptionBytes);
  Put<uint16_t>(out, code);
  Put<uint16_t>(out, static_cast<uint16_t>(value.size()));
  out.insert(out.end(), value.begin(), value.end());
  PadTo32Bits(out);
}

// Nanoseconds since the epoch; times before it are the epoch, times beyond
// 64 bits of nanoseconds (year 2554) the last of them.
uint64_t EpochNanos(absl::Time time) {
  if (time <= absl::UnixEpoch()) return 0;
  const absl::Duration since = time - absl::UnixEpoch();
  if (since >= absl::Nanoseconds(std::numeric_limits<int64_t>::max())) {
    return static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  }
  return static_cast<uint64_t>(absl::ToInt64Nanoseconds(since));
}

// A timestamp as pcapng stores it: high 32 bits, then low 32 bits.
void PutTimestamp(std::vector<uint8_t>& out, uint64_t nanos) {
  Put<uint32_t>(out, static_cast<uint32_t>(nanos >> 32));
  Put<uint32_t>(out, static_cast<uint32_t>(nanos));
}

void PutTimestampOption(std::vector<uint8_t>& out, uint16_t code, absl::Time time) {
  Put<uint16_t>(out, code);
  Put<uint16_t>(out, 8);
  PutTimestamp(out, EpochNanos(time));
}

void PutCounterOption(std::vector<uint8_t>& out, uint16_t code, uint64_t value) {
  Put<uint16_t>(out, code);
  Put<uint16_t>(out, 8);
  Put<uint64_t>(out, value);
}

// Starts a block at the end of `out`; returns where it starts.
size_t OpenBlock(std::vector<uint8_t>& out, uint32_t type) {
  const size_t start = out.size();
  Put<uint32_t>(out, type);
  Put<uint32_t>(out, 0);  // total length, set by CloseBlock
  return start;
}

// Ends the options (when `options`) and the block begun at `start`.
void CloseBlock(std::vector<uint8_t>& out, size_t start, bool options) {
  if (options) {
    Put<uint16_t>(out, kOptEnd);
    Put<uint16_t>(out, 0);
  }
  const uint32_t length = static_cast<uint32_t>(out.size() - start + 4);
  Put<uint32_t>(out, length);
  std::memcpy(out.data() + start + 4, &length, sizeof(length));
}

void PutPacket(std::vector<uint8_t>& out, uint32_t interface_id, uint64_t nanos,
               uint32_t original_length, absl::string_view data,
               absl::string_view comment) {
  const uint32_t captured = static_cast<uint32_t>(data.size());
  const size_t start = OpenBlock(out, kEnhancedPacketBlock);
  Put<uint32_t>(out, interface_id);
  PutTimestamp(out, nanos);
  Put<uint32_t>(out, captured);
  Put<uint32_t>(out, std::max(original_length, captured));
  out.insert(out.end(), data.begin(), data.end());
  PadTo32Bits(out);
  PutOption(out, kOptComment, comment);
  CloseBlock(out, start, !comment.empty());
}

}  // namespace

PcapngWriter::Section PcapngWriter::DefaultSection(absl::string_view application) {
  Section section;
  section.application = std::string(application);
  struct utsname host;
  if (uname(&host) == 0) {
    section.os = absl::StrCat(host.sysname, " ", host.release);
    section.hardware = host.machine;
  }
  return section;
}

absl::Status PcapngWriter::Begin(const Section& section) {
  if (!error_.ok()) return error_;
  if (begun_) return absl::FailedPreconditionError("pcapng section header written twice");
  begun_ = true;
  buffer_.clear();
  const size_t start = OpenBlock(buffer_, kSectionHeaderBlock);
  Put<uint32_t>(buffer_, kByteOrderMark);
  Put<uint16_t>(buffer_, 1);  // version 1.0
  Put<uint16_t>(buffer_, 0);
  Put<int64_t>(buffer_, -1);  // section length: not given
  PutOption(buffer_, kOptComment, section.comment);
  PutOption(buffer_, kShbHardware, section.hardware);
  PutOption(buffer_, kShbOs, section.os);
  PutOption(buffer_, kShbUserAppl, section.application);
  CloseBlock(buffer_, start,
             !section.comment.empty() || !section.hardware.empty() ||
                 !section.os.empty() || !section.application.empty());
  return Commit();
}

absl::StatusOr<uint32_t> PcapngWriter::AddInterface(const Interface& interface) {
  if (!error_.ok()) return error_;
  if (!begun_)
    return absl::FailedPreconditionError("pcapng interface before the section header");
  buffer_.clear();
  const uint32_t snaplen = interface.snaplen == 0 ? kDefaultSnaplen : interface.snaplen;
  const size_t start = OpenBlock(buffer_, kInterfaceDescriptionBlock);
  Put<uint16_t>(buffer_, static_cast<uint16_t>(LinktypeForDlt(interface.dlt)));
  Put<uint16_t>(buffer_, 0);  // reserved
  Put<uint32_t>(buffer_, snaplen);
  PutOption(buffer_, kIfName, interface.name);
  PutOption(buffer_, kIfDescription, interface.description);
  if (!interface.filter.empty()) {
    // if_filter: a type byte (0: a libpcap filter string), then the string.
    PutOption(
        buffer_, kIfFilter,
        absl::StrCat(absl::string_view("\0", 1),
                     absl::string_view(interface.filter).substr(0, kMaxOptionBytes - 1)));
  }
  PutOption(buffer_, kIfOs, interface.os);
  Put<uint16_t>(buffer_, kIfTsresol);  // 10^-9 s
  Put<uint16_t>(buffer_, 1);
  Put<uint8_t>(buffer_, 9);
  PadTo32Bits(buffer_);
  CloseBlock(buffer_, start, /*options=*/true);
  absl::Status written = Commit();
  if (!written.ok()) return written;
  return static_cast<uint32_t>(interfaces_++);
}

absl::Status PcapngWriter::Check(uint32_t interface_id) {
  if (!error_.ok()) return error_;
  if (interface_id >= interfaces_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "pcapng interface ", interface_id, " not described (", interfaces_, " are)"));
  }
  return absl::OkStatus();
}

absl::Status PcapngWriter::WritePacket(uint32_t interface_id, absl::Time time,
                                       uint32_t original_length,
                                       absl::Span<const uint8_t> data,
                                       absl::string_view comment) {
  if (absl::Status ok = Check(interface_id); !ok.ok()) return ok;
  if (data.size() > kMaxPacketBytes) {
    return absl::InvalidArgumentError("packet larger than 1 GiB");
  }
  buffer_.clear();
  PutPacket(buffer_, interface_id, EpochNanos(time), original_length,
            absl::string_view(reinterpret_cast<const char*>(data.data()), data.size()),
            comment);
  return Commit();
}

absl::StatusOr<size_t> PcapngWriter::WriteRecords(uint32_t interface_id,
                                                  absl::string_view records) {
  if (absl::Status ok = Check(interface_id); !ok.ok()) return ok;
  buffer_.clear();
  PacketRecordReader reader(records);
  PacketRecord r;
  while (reader.Next(&r)) {
    PutPacket(buffer_, interface_id, uint64_t{r.seconds} * 1000000000 + r.nanos,
              r.original_length, r.data, {});
  }
  if (!reader.status().ok()) return reader.status();
  absl::Status written = Commit();
  if (!written.ok()) return written;
  return reader.count();
}

absl::Status PcapngWriter::WriteStats(uint32_t interface_id,
                                      const InterfaceStats& stats) {
  if (absl::Status ok = Check(interface_id); !ok.ok()) return ok;
  buffer_.clear();
  const size_t start = OpenBlock(buffer_, kInterfaceStatisticsBlock);
  Put<uint32_t>(buffer_, interface_id);
  PutTimestamp(buffer_, EpochNanos(stats.time));
  PutOption(buffer_, kOptComment, stats.comment);
  if (stats.start) PutTimestampOption(buffer_, kIsbStartTime, *stats.start);
  if (stats.end) PutTimestampOption(buffer_, kIsbEndTime, *stats.end);
  if (stats.received) PutCounterOption(buffer_, kIsbIfRecv, *stats.received);
  if (stats.dropped) PutCounterOption(buffer_, kIsbIfDrop, *stats.dropped);
  if (stats.os_dropped) PutCounterOption(buffer_, kIsbOsDrop, *stats.os_dropped);
  if (stats.delivered) PutCounterOption(buffer_, kIsbUsrDeliv, *stats.delivered);
  const bool options = !stats.comment.empty() || stats.start || stats.end ||
                       stats.received || stats.dropped || stats.os_dropped ||
                       stats.delivered;
  CloseBlock(buffer_, start, options);
  return Commit();
}

absl::Status PcapngWriter::Flush() {
  if (!error_.ok()) return error_;
  errno = 0;
  if (std::fflush(out_) != 0) {
    const int err = errno != 0 ? errno : EIO;
    error_ = absl::Status(absl::ErrnoToStatusCode(err), std::strerror(err));
  }
  return error_;
}

absl::Status PcapngWriter::Commit() {
  if (!error_.ok()) return error_;
  if (buffer_.empty()) return absl::OkStatus();
  errno = 0;
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), out_) != buffer_.size()) {
    const int err = errno != 0 ? errno : EIO;
    error_ = absl::Status(absl::ErrnoToStatusCode(err), std::strerror(err));
  }
  return error_;
}

}  // namespace netprobe::client
