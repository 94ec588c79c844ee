#include "client/output/pcap_writer.h"

#include <errno.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "client/output/packet_text.h"
#include "common/packet_records.h"

namespace netprobe::client {
namespace {

constexpr uint32_t kDefaultSnaplen = 262144;
// Far above any snap length; keeps every block length within 32 bits.
constexpr size_t kMaxPacketBytes = size_t{1} << 30;

// Host byte order, as the magic number / byte order mark tells readers.
template <typename T>
void Put(std::vector<uint8_t>& out, T value) {
  const size_t at = out.size();
  out.resize(at + sizeof(value));
  std::memcpy(out.data() + at, &value, sizeof(value));
}

void PutBytes(std::vector<uint8_t>& out, absl::Span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

// pcapng pads data and options to 32 bits.
void PadTo32Bits(std::vector<uint8_t>& out) { out.resize((out.size() + 3) & ~size_t{3}); }

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

class PcapngWriter final : public FileWriterBase {
 public:
  using FileWriterBase::FileWriterBase;

 protected:
  void FileHeader(uint32_t linktype, uint32_t snaplen,
                  absl::string_view interface) override {
    // Section Header Block, no options.
    Put<uint32_t>(buffer_, 0x0a0d0d0a);
    Put<uint32_t>(buffer_, 28);
    Put<uint32_t>(buffer_, 0x1a2b3c4d);  // byte order mark
    Put<uint16_t>(buffer_, 1);           // version 1.0
    Put<uint16_t>(buffer_, 0);
    Put<int64_t>(buffer_, -1);  // section length: not given
    Put<uint32_t>(buffer_, 28);

    // Interface Description Block: interface 0 of every packet.
    const size_t start = buffer_.size();
    Put<uint32_t>(buffer_, 1);
    Put<uint32_t>(buffer_, 0);  // total length, set below
    Put<uint16_t>(buffer_, static_cast<uint16_t>(linktype));
    Put<uint16_t>(buffer_, 0);  // reserved
    Put<uint32_t>(buffer_, snaplen);
    if (!interface.empty()) {
      interface = interface.substr(0, std::numeric_limits<uint16_t>::max());
      Put<uint16_t>(buffer_, 2);  // if_name
      Put<uint16_t>(buffer_, static_cast<uint16_t>(interface.size()));
      buffer_.insert(buffer_.end(), interface.begin(), interface.end());
      PadTo32Bits(buffer_);
    }
    Put<uint16_t>(buffer_, 9);  // if_tsresol: 10^-9 s
    Put<uint16_t>(buffer_, 1);
    Put<uint8_t>(buffer_, 9);
    PadTo32Bits(buffer_);
    Put<uint16_t>(buffer_, 0);  // opt_endofopt
    Put<uint16_t>(buffer_, 0);
    const uint32_t length = static_cast<uint32_t>(buffer_.size() - start + 4);
    Put<uint32_t>(buffer_, length);
    std::memcpy(buffer_.data() + start + 4, &length, sizeof(length));
  }

  uint64_t MaxSeconds() const override {
    return std::numeric_limits<uint64_t>::max() / 1000000000 - 1;
  }
  bool RecordsAsIs() const override { return false; }
  void Record(Timestamp ts, uint32_t original_length,
              absl::Span<const uint8_t> data) override {
    // Enhanced Packet Block, no options.
    const uint64_t nanos = ts.seconds * 1000000000 + ts.nanos;
    const uint32_t length = static_cast<uint32_t>(32 + ((data.size() + 3) & ~size_t{3}));
    Put<uint32_t>(buffer_, 6);
    Put<uint32_t>(buffer_, length);
    Put<uint32_t>(buffer_, 0);  // interface id
    Put<uint32_t>(buffer_, static_cast<uint32_t>(nanos >> 32));
    Put<uint32_t>(buffer_, static_cast<uint32_t>(nanos));
    Put<uint32_t>(buffer_, static_cast<uint32_t>(data.size()));
    Put<uint32_t>(buffer_, original_length);
    PutBytes(buffer_, data);
    PadTo32Bits(buffer_);
    Put<uint32_t>(buffer_, length);
  }
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
      return std::make_unique<PcapngWriter>(out);
  }
  return nullptr;
}

}  // namespace netprobe::client
