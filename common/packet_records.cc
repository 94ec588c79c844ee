#include "common/packet_records.h"

#include <bit>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"

namespace netprobe {
namespace {

constexpr uint32_t kNanosPerSecond = 1000000000;

uint32_t LittleEndian(uint32_t value) {
  if constexpr (std::endian::native == std::endian::big) return __builtin_bswap32(value);
  return value;
}

uint32_t Load(const char* at) {
  uint32_t value;
  std::memcpy(&value, at, sizeof(value));
  return LittleEndian(value);
}

void Store(uint32_t value, char* at) {
  value = LittleEndian(value);
  std::memcpy(at, &value, sizeof(value));
}

}  // namespace

void AppendPacketRecord(int64_t seconds, uint32_t nanos, uint32_t original_length,
                        absl::string_view data, std::string* out) {
  constexpr int64_t kMaxSeconds = std::numeric_limits<uint32_t>::max();
  if (seconds < 0) {
    seconds = 0;
    nanos = 0;
  } else if (seconds > kMaxSeconds) {
    seconds = kMaxSeconds;
    nanos = kNanosPerSecond - 1;
  }
  char header[kPacketRecordHeaderBytes];
  Store(static_cast<uint32_t>(seconds), header);
  Store(nanos, header + 4);
  Store(static_cast<uint32_t>(data.size()), header + 8);
  Store(original_length, header + 12);
  out->append(header, sizeof(header));
  out->append(data.data(), data.size());
}

bool PacketRecordReader::Next(PacketRecord* record) {
  if (!status_.ok() || at_ == records_.size()) return false;
  const size_t left = records_.size() - at_;
  if (left < kPacketRecordHeaderBytes) {
    status_ = absl::InvalidArgumentError(absl::StrCat(
        "packets.records: record ", count_ + 1, " at byte ", at_, ": header truncated (",
        left, " of ", kPacketRecordHeaderBytes, " bytes)"));
    return false;
  }
  const char* header = records_.data() + at_;
  const uint32_t captured = Load(header + 8);
  if (captured > left - kPacketRecordHeaderBytes) {
    status_ = absl::InvalidArgumentError(absl::StrCat(
        "packets.records: record ", count_ + 1, " at byte ", at_, ": captured length ",
        captured, " exceeds the ", left - kPacketRecordHeaderBytes, " bytes left"));
    return false;
  }
  const uint32_t nanos = Load(header + 4);
  if (nanos >= kNanosPerSecond) {
    status_ = absl::InvalidArgumentError(
        absl::StrCat("packets.records: record ", count_ + 1, " at byte ", at_,
                     ": nanoseconds ", nanos, " not below 10^9"));
    return false;
  }
  record->seconds = Load(header);
  record->nanos = nanos;
  record->original_length = Load(header + 12);
  record->data = records_.substr(at_ + kPacketRecordHeaderBytes, captured);
  record->offset = at_;
  at_ += kPacketRecordHeaderBytes + captured;
  ++count_;
  return true;
}

absl::StatusOr<size_t> CountPacketRecords(absl::string_view records) {
  PacketRecordReader reader(records);
  PacketRecord record;
  while (reader.Next(&record)) {
  }
  if (!reader.status().ok()) return reader.status();
  return reader.count();
}

absl::Status PacketRecordsToPackets(absl::string_view records, v1::PacketBatch* out) {
  PacketRecordReader reader(records);
  PacketRecord record;
  while (reader.Next(&record)) {
    v1::Packet* packet = out->add_packets();
    packet->mutable_time()->set_seconds(record.seconds);
    packet->mutable_time()->set_nanos(static_cast<int32_t>(record.nanos));
    packet->set_captured_length(static_cast<uint32_t>(record.data.size()));
    packet->set_original_length(record.original_length);
    packet->set_data(record.data.data(), record.data.size());
  }
  return reader.status();
}

}  // namespace netprobe
