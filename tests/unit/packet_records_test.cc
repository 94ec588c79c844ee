// Packed packet records (PacketBatch.records): the exact bytes appended, the
// reader's walk and its errors on malformed input, and the conversion back to
// Packet messages.
#include "common/packet_records.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_replace.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

// Hex digits; spaces group them for the reader.
std::string Hex(absl::string_view hex) {
  return absl::HexStringToBytes(absl::StrReplaceAll(hex, {{" ", ""}}));
}

TEST(PacketRecords, AppendWritesAPcapRecordInLittleEndian) {
  std::string out;
  // 2023-11-14 22:13:20.123456789, 3 of 70 bytes captured.
  AppendPacketRecord(1700000000, 123456789, 70, Hex("aabbcc"), &out);
  AppendPacketRecord(1, 0, 0, "", &out);
  EXPECT_EQ(absl::BytesToHexString(out),
            absl::StrReplaceAll("00f15365 15cd5b07 03000000 46000000 aabbcc"
                                "01000000 00000000 00000000 00000000",
                                {{" ", ""}}));
}

TEST(PacketRecords, TimesOutsidePcapsRangeAreClamped) {
  std::string out;
  AppendPacketRecord(-5, 7, 1, Hex("01"), &out);
  AppendPacketRecord(int64_t{1} << 32, 7, 1, Hex("02"), &out);
  EXPECT_EQ(absl::BytesToHexString(out),
            absl::StrReplaceAll("00000000 00000000 01000000 01000000 01"
                                "ffffffff ffc99a3b 01000000 01000000 02",
                                {{" ", ""}}));
}

TEST(PacketRecords, ReaderWalksEveryRecordWithoutCopying) {
  const std::string records =
      Hex("00f15365 15cd5b07 03000000 46000000 aabbcc"
          "02000000 01000000 00000000 00000000"
          "03000000 02000000 01000000 01000000 ff");
  PacketRecordReader reader(records);
  PacketRecord r;
  ASSERT_TRUE(reader.Next(&r));
  EXPECT_EQ(r.seconds, 1700000000u);
  EXPECT_EQ(r.nanos, 123456789u);
  EXPECT_EQ(r.original_length, 70u);
  EXPECT_EQ(r.data, Hex("aabbcc"));
  EXPECT_EQ(r.data.data(), records.data() + 16) << "a view into the buffer";
  EXPECT_EQ(r.offset, 0u);
  EXPECT_EQ(r.time(), absl::FromUnixNanos(1700000000123456789));
  ASSERT_TRUE(reader.Next(&r));
  EXPECT_EQ(r.seconds, 2u);
  EXPECT_TRUE(r.data.empty());
  EXPECT_EQ(r.offset, 19u);
  ASSERT_TRUE(reader.Next(&r));
  EXPECT_EQ(r.data, Hex("ff"));
  EXPECT_EQ(r.offset, 35u);
  EXPECT_FALSE(reader.Next(&r));
  EXPECT_THAT(reader.status(), IsOk());
  EXPECT_EQ(reader.count(), 3u);
  EXPECT_THAT(CountPacketRecords(records), IsOk());
  EXPECT_EQ(*CountPacketRecords(records), 3u);
  EXPECT_EQ(*CountPacketRecords(""), 0u);
}

TEST(PacketRecords, MalformedRecordsAreNamed) {
  const std::string one = Hex("01000000 00000000 02000000 02000000 aabb");
  // A header cut short.
  EXPECT_THAT(CountPacketRecords(one + Hex("01000000 00")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("packets.records: record 2 at byte 18: header "
                                 "truncated (5 of 16 bytes)")));
  // Data cut short.
  EXPECT_THAT(CountPacketRecords(one.substr(0, 17)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("packets.records: record 1 at byte 0: captured "
                                 "length 2 exceeds the 1 bytes left")));
  // A captured length near 2^32 does not wrap.
  EXPECT_THAT(CountPacketRecords(Hex("01000000 00000000 ffffffff ffffffff aa")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("4294967295")));
  // Nanoseconds of 10^9 or more.
  EXPECT_THAT(CountPacketRecords(Hex("01000000 00ca9a3b 00000000 00000000")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("nanoseconds 1000000000 not below 10^9")));
}

TEST(PacketRecords, ConvertBackToThePacketMessagesOfTheDefaultForm) {
  std::string records;
  AppendPacketRecord(1700000000, 123456789, 70, Hex("aabbcc"), &records);
  AppendPacketRecord(1700000001, 5, 1, Hex("dd"), &records);
  v1::PacketBatch batch;
  ASSERT_THAT(PacketRecordsToPackets(records, &batch), IsOk());
  ASSERT_EQ(batch.packets_size(), 2);
  v1::PacketBatch expected;
  v1::Packet* p = expected.add_packets();
  p->mutable_time()->set_seconds(1700000000);
  p->mutable_time()->set_nanos(123456789);
  p->set_captured_length(3);
  p->set_original_length(70);
  p->set_data(Hex("aabbcc"));
  p = expected.add_packets();
  p->mutable_time()->set_seconds(1700000001);
  p->mutable_time()->set_nanos(5);
  p->set_captured_length(1);
  p->set_original_length(1);
  p->set_data(Hex("dd"));
  EXPECT_EQ(batch.SerializeAsString(), expected.SerializeAsString());
  EXPECT_TRUE(batch.records().empty());
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
