#include "client/output/pcap_writer.h"

#include <errno.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "client/output/capture_file_bytes.h"
#include "client/output/packet_text.h"
#include "client/output/pcapng_writer.h"
#include "common/packet_records.h"

namespace netprobe::client {
namespace {

using capture_file_bytes::kDefaultSnaplen;
using capture_file_bytes::kMaxPacketBytes;
using capture_file_bytes::Put;

void PutBytes(std::vector<uint8_t>& out, absl::Span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

struct SplitTimestamp {
  uint64_t seconds = 0;
  uint32_t nanos = 0;
};

// `time` as seconds and nanoseconds since the epoch, clamped to
// [epoch, max_seconds + 0.999999999].
SplitTimestamp SplitTime(absl::Time time, uint64_t max_seconds) {
  if (time < absl::UnixEpoch()) return {};
  const int64_t seconds = absl::ToUnixSeconds(time);  // rounds down
  if (static_cast<uint64_t>(seconds) > max_seconds) return {max_seconds, 999999999};
  const int64_t nanos = absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds));
  return {static_cast<uint64_t>(seconds), static_cast<uint32_t>(nanos)};
}

class FileWriterBase : public CaptureFileWriter {
 public:
  explicit FileWriterBase(FILE* out) : out_(out) {}

  absl::Status Begin(uint32_t dlt, uint32_t snaplen, absl::string_view interface) final {
    if (begun_) return absl::FailedPreconditionError("capture file header written twice");
    begun_ = true;
    buffer_.clear();
    FileHeader(LinktypeForDlt(dlt), snaplen == 0 ? kDefaultSnaplen : snaplen, interface);
    return Flush();
  }

  absl::Status Write(absl::Time time, uint32_t original_length,
                     absl::Span<const uint8_t> data) final {
    if (!begun_) return absl::FailedPreconditionError("packet before the file header");
    if (data.size() > kMaxPacketBytes) {
      return absl::InvalidArgumentError("packet larger than 1 GiB");
    }
    const uint32_t captured = static_cast<uint32_t>(data.size());
    buffer_.clear();
    const SplitTimestamp ts = SplitTime(time, MaxSeconds());
    Record({ts.seconds, ts.nanos}, std::max(original_length, captured), data);
    return Flush();
  }

  absl::StatusOr<size_t> WriteRecords(std::string* records) final {
    if (!begun_) return absl::FailedPreconditionError("packet before the file header");
    if (!error_.ok()) return error_;
    buffer_.clear();
    const bool as_is = RecordsAsIs();
    PacketRecordReader reader(*records);
    PacketRecord r;
    while (reader.Next(&r)) {
      const uint32_t captured = static_cast<uint32_t>(r.data.size());
      if (as_is) {
        // pcap's own record on a little-endian host: only an original
        // length below the captured one is changed, in place.
        if (r.original_length < captured) {
          std::memcpy(records->data() + r.offset + 12, &captured, sizeof(captured));
        }
        continue;
      }
      Record({r.seconds, r.nanos}, std::max(r.original_length, captured),
             absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(r.data.data()),
                                 r.data.size()));
    }
    if (!reader.status().ok()) return reader.status();
    absl::Status written = as_is ? FlushBytes(records->data(), records->size()) : Flush();
    if (!written.ok()) return written;
    return reader.count();
  }

 protected:
  struct Timestamp {
    uint64_t seconds = 0;
    uint32_t nanos = 0;
  };

  virtual void FileHeader(uint32_t linktype, uint32_t snaplen,
                          absl::string_view interface) = 0;
  // The latest second the format holds (later times are clamped to it).
  virtual uint64_t MaxSeconds() const = 0;
  // Packed records are this format's records as they are.
  virtual bool RecordsAsIs() const = 0;
  virtual void Record(Timestamp time, uint32_t original_length,
                      absl::Span<const uint8_t> data) = 0;

  // What FileHeader and Record build; one fwrite per call.
  std::vector<uint8_t> buffer_;

 private:
  // Hands buffer_ to stdio (which buffers; nothing here flushes). A failure
  // sticks: later calls return it without writing.
  absl::Status Flush() { return FlushBytes(buffer_.data(), buffer_.size()); }
  absl::Status FlushBytes(const void* bytes, size_t size) {
    if (!error_.ok()) return error_;
    if (size == 0) return absl::OkStatus();
    errno = 0;
    if (std::fwrite(bytes, 1, size, out_) != size) {
      const int err = errno != 0 ? errno : EIO;
      error_ = absl::Status(absl::ErrnoToStatusCode(err), std::strerror(err));
    }
    return error_;
  }

  FILE* const out_;
  bool begun_ = false;
  absl::Status error_;
};

class PcapWriter final : public FileWriterBase {
 public:
  using FileWriterBase::FileWriterBase;

 protected:
  void FileHeader(uint32_t linktype, uint32_t snaplen, absl::string_view) override {
    Put<uint32_t>(buffer_, 0xa1b23c4d);  // nanosecond timestamps
    Put<uint16_t>(buffer_, 2);           // version 2.4
    Put<uint16_t>(buffer_, 4);
    Put<int32_t>(buffer_, 0);   // thiszone: times are UTC
    Put<uint32_t>(buffer_, 0);  // sigfigs
    Put<uint32_t>(buffer_, snaplen);
    Put<uint32_t>(buffer_, linktype);
  }

  uint64_t MaxSeconds() const override { return std::numeric_limits<uint32_t>::max(); }
  bool RecordsAsIs() const override { return std::endian::native == std::endian::little; }
  void Record(Timestamp ts, uint32_t original_length,
              absl::Span<const uint8_t> data) override {
    Put<uint32_t>(buffer_, static_cast<uint32_t>(ts.seconds));
    Put<uint32_t>(buffer_, ts.nanos);
    Put<uint32_t>(buffer_, static_cast<uint32_t>(data.size()));
    Put<uint32_t>(buffer_, original_length);
    PutBytes(buffer_, data);
  }
};

// pcapng through PcapngWriter: a section without options, interface 0.
class PcapngFileWriter final : public CaptureFileWriter {
 public:
  explicit PcapngFileWriter(FILE* out) : writer_(out) {}

  absl::Status Begin(uint32_t dlt, uint32_t snaplen,
                     absl::string_view interface) override {
    if (begun_) return absl::FailedPreconditionError("capture file header written twice");
    begun_ = true;
    if (absl::Status ok = writer_.Begin({}); !ok.ok()) return ok;
    PcapngWriter::Interface described;
    described.dlt = dlt;
    described.snaplen = snaplen;
    described.name = std::string(interface);
    return writer_.AddInterface(described).status();
  }
  absl::Status Write(absl::Time time, uint32_t original_length,
                     absl::Span<const uint8_t> data) override {
    if (!begun_) return absl::FailedPreconditionError("packet before the file header");
    return writer_.WritePacket(0, time, original_length, data);
  }
  absl::StatusOr<size_t> WriteRecords(std::string* records) override {
    if (!begun_) return absl::FailedPreconditionError("packet before the file header");
    return writer_.WriteRecords(0, *records);
  }

 private:
  PcapngWriter writer_;
  bool begun_ = false;
};

}  // namespace

uint32_t LinktypeForDlt(uint32_t dlt) {
  return dlt == kDltRaw || dlt == kDltRawOpenBsd ? kLinktypeRaw : dlt;
}

std::unique_ptr<CaptureFileWriter> CaptureFileWriter::Create(Format format, FILE* out) {
  switch (format) {
    case Format::kPcap:
      return std::make_unique<PcapWriter>(out);
    case Format::kPcapng:
      return std::make_unique<PcapngFileWriter>(out);
  }
  return nullptr;
}

}  // namespace netprobe::client
