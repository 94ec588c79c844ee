#ifndef NETPROBE_CLIENT_OUTPUT_PCAP_WRITER_H_
#define NETPROBE_CLIENT_OUTPUT_PCAP_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace netprobe::client {

// The LINKTYPE_* value a capture file records for a DLT_* value from libpcap
// on Linux. They are equal except DLT_RAW (12, and 14 as some systems number
// it), which files record as LINKTYPE_RAW (101).
uint32_t LinktypeForDlt(uint32_t dlt);

// Writes captured packets as a file tcpdump and Wireshark read, in the
// writing host's byte order (readers detect it from the magic number or byte
// order mark), with nanosecond timestamps:
//   kPcap:   the classic format, magic 0xa1b23c4d (nanosecond), version 2.4.
//   kPcapng: a Section Header Block, one Interface Description Block
//            (if_name when known, if_tsresol 9), then Enhanced Packet Blocks.
// The writer never flushes: the caller decides when (the CLI does once per
// received batch, so `-w - | wireshark -k -i -` stays live).
class CaptureFileWriter {
 public:
  enum class Format { kPcap, kPcapng };

  // `out` must outlive the writer; the writer does not close it.
  static std::unique_ptr<CaptureFileWriter> Create(Format format, FILE* out);
  virtual ~CaptureFileWriter() = default;

  // The file header, once, before any packet. `dlt` is the DLT_* value the
  // agent reported; snaplen 0 is written as 262144. `interface` may be empty.
  virtual absl::Status Begin(uint32_t dlt, uint32_t snaplen,
                             absl::string_view interface) = 0;

  // One packet. `original_length` is its length on the wire; it is raised to
  // data.size() when smaller, as readers reject such records. Times outside
  // what the format holds are clamped to it (pcap: 1970..2106).
  virtual absl::Status Write(absl::Time time, uint32_t original_length,
                             absl::Span<const uint8_t> data) = 0;

  // The packets of one batch of packed records (PacketBatch.records, see
  // common/packet_records.h), each written as Write would, in one fwrite;
  // returns how many. pcap on a little-endian host writes the buffer as it
  // is, after raising in place any original length below the captured one
  // (so `records` may change); otherwise each record is converted (pcapng:
  // an Enhanced Packet Block). Malformed records: INVALID_ARGUMENT naming
  // the record, and nothing of the batch is written.
  virtual absl::StatusOr<size_t> WriteRecords(std::string* records) = 0;
};

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_PCAP_WRITER_H_
