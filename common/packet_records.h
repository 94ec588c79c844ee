#ifndef NETPROBE_COMMON_PACKET_RECORDS_H_
#define NETPROBE_COMMON_PACKET_RECORDS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "netprobe/v1/capture.pb.h"

namespace netprobe {

// Captured packets packed in one bytes field (netprobe.v1.PacketBatch.records,
// see capture.proto): per packet a pcap record, a 16-byte header of four
// little-endian uint32 (seconds since the epoch, nanoseconds, captured length,
// original length), then the captured bytes. The agent appends to one buffer
// per batch; the CLI walks it without copying, and on a little-endian host a
// pcap file takes it as it is.
inline constexpr size_t kPacketRecordHeaderBytes = 16;

// Appends one record to `out`. Seconds before the epoch are written as 0.0,
// after 2106 (beyond uint32) as 4294967295.999999999, as a pcap writer
// clamps them; `nanos` must be < 10^9.
void AppendPacketRecord(int64_t seconds, uint32_t nanos, uint32_t original_length,
                        absl::string_view data, std::string* out);

struct PacketRecord {
  uint32_t seconds = 0;
  uint32_t nanos = 0;
  uint32_t original_length = 0;
  absl::string_view data;  // the captured bytes; captured length = data.size()
  // Offset of the record's header in the buffer (to patch it in place).
  size_t offset = 0;

  absl::Time time() const {
    return absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos);
  }
};

// Walks the records of one buffer in order, checking each:
//   PacketRecordReader reader(records);
//   PacketRecord r;
//   while (reader.Next(&r)) ...;
//   if (!reader.status().ok()) ...;
class PacketRecordReader {
 public:
  explicit PacketRecordReader(absl::string_view records) : records_(records) {}

  // The next record; false at the end or at a malformed record (then
  // status() names it: INVALID_ARGUMENT "packets.records: record N ...").
  bool Next(PacketRecord* record);
  const absl::Status& status() const { return status_; }
  // Records read so far.
  size_t count() const { return count_; }

 private:
  absl::string_view records_;
  size_t at_ = 0;
  size_t count_ = 0;
  absl::Status status_;
};

// The number of records in `records`, or why they are malformed.
absl::StatusOr<size_t> CountPacketRecords(absl::string_view records);

// Appends the records to `out->packets` as Packet messages (what a reader
// of the default form sees): for --json output and tests.
absl::Status PacketRecordsToPackets(absl::string_view records, v1::PacketBatch* out);

}  // namespace netprobe

#endif  // NETPROBE_COMMON_PACKET_RECORDS_H_
