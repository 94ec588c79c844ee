// Capture files: the exact bytes of both formats, write errors, and tcpdump
// reading what the writer wrote (the same packets, times to the nanosecond,
// and the same text as our own decoder).
#include "client/output/pcap_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <bit>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "client/output/packet_text.h"
#include "common/packet_records.h"
#include "tests/test_support/status_matchers.h"
#include "tests/test_support/subprocess.h"

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::RunCommand;
using ::netprobe::testing::StatusIs;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using Bytes = std::vector<uint8_t>;
using Format = CaptureFileWriter::Format;

constexpr char kTcpdump[] = "/usr/bin/tcpdump";

// Hex digits; spaces group them for the reader.
Bytes Hex(absl::string_view hex) {
  const std::string bytes = absl::HexStringToBytes(absl::StrReplaceAll(hex, {{" ", ""}}));
  return Bytes(bytes.begin(), bytes.end());
}

std::string AsString(const Bytes& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// 2023-11-14 22:13:20.123456789 UTC
const absl::Time kTime = absl::FromUnixNanos(1700000000123456789);

// A FILE* writing to memory; bytes() closes it and returns what was written.
class MemoryFile {
 public:
  MemoryFile() : file_(open_memstream(&buffer_, &size_)) {}
  ~MemoryFile() {
    if (file_ != nullptr) fclose(file_);
    free(buffer_);
  }
  FILE* get() { return file_; }
  Bytes bytes() {
    fclose(file_);
    file_ = nullptr;
    return Bytes(buffer_, buffer_ + size_);
  }

 private:
  char* buffer_ = nullptr;
  size_t size_ = 0;
  FILE* file_;
};

class ExactBytes : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::endian::native != std::endian::little) {
      GTEST_SKIP() << "expected bytes are written out for a little-endian host";
    }
  }
};

TEST_F(ExactBytes, PcapHeaderAndRecord) {
  MemoryFile file;
  auto writer = CaptureFileWriter::Create(Format::kPcap, file.get());
  ASSERT_THAT(writer->Begin(1, 262144, "eth0"), IsOk());
  ASSERT_THAT(writer->Write(kTime, 60, Hex("0102030405")), IsOk());
  EXPECT_THAT(file.bytes(),
              ElementsAreArray(Hex(
                  // magic (ns), version 2.4, thiszone, sigfigs, snaplen, linktype
                  "4d3cb2a1 0200 0400 00000000 00000000 00000400 01000000 "
                  // seconds, nanoseconds, captured, original, data
                  "00f15365 15cd5b07 05000000 3c000000 0102030405")));
}

TEST_F(ExactBytes, PcapngBlocks) {
  MemoryFile file;
  auto writer = CaptureFileWriter::Create(Format::kPcapng, file.get());
  ASSERT_THAT(writer->Begin(1, 65535, "eth0"), IsOk());
  ASSERT_THAT(writer->Write(kTime, 60, Hex("0102030405")), IsOk());
  EXPECT_THAT(file.bytes(),
              ElementsAreArray(Hex(
                  // Section Header Block: type, length, byte order mark, version 1.0,
                  // section length unknown, length.
                  "0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffffffffffff 1c000000 "
                  // Interface Description Block: type, length, linktype, reserved,
                  // snaplen; if_name "eth0"; if_tsresol 9, padded; opt_endofopt; length.
                  "01000000 28000000 0100 0000 ffff0000 "
                  "0200 0400 65746830 "
                  "0900 0100 09000000 "
                  "00000000 28000000 "
                  // Enhanced Packet Block: type, length, interface 0, time high and
                  // low (ns), captured, original, data padded to 32 bits, length.
                  "06000000 28000000 00000000 fe9c9717 15cd853d 05000000 3c000000 "
                  "0102030405000000 28000000")));
}

TEST_F(ExactBytes, PcapngWithoutInterfaceNameAndRawLinktype) {
  MemoryFile file;
  auto writer = CaptureFileWriter::Create(Format::kPcapng, file.get());
  ASSERT_THAT(writer->Begin(kDltRaw, 0, ""), IsOk());
  const Bytes bytes = file.bytes();
  ASSERT_EQ(bytes.size(), 28u + 32u);
  // LINKTYPE_RAW (101), snaplen 262144, if_tsresol only.
  EXPECT_THAT(Bytes(bytes.begin() + 28, bytes.end()),
              ElementsAreArray(Hex("01000000 20000000 6500 0000 00000400 "
                                   "0900 0100 09000000 00000000 20000000")));
}

TEST(LinktypeForDlt, RawDiffersOthersEqual) {
  EXPECT_EQ(LinktypeForDlt(kDltRaw), kLinktypeRaw);
  EXPECT_EQ(LinktypeForDlt(kDltRawOpenBsd), kLinktypeRaw);
  for (uint32_t same : {kDltNull, kDltEthernet, kLinktypeRaw, kDltLoop, kDltLinuxSll,
                        kDltIpv4, kDltIpv6, kDltLinuxSll2}) {
    EXPECT_EQ(LinktypeForDlt(same), same);
  }
}

TEST(CaptureFileWriter, RecordsAreValidWhateverTheInput) {
  if constexpr (std::endian::native != std::endian::little) GTEST_SKIP();
  MemoryFile file;
  auto writer = CaptureFileWriter::Create(Format::kPcap, file.get());
  ASSERT_THAT(writer->Begin(1, 262144, ""), IsOk());
  // An original length below the captured one is raised to it; a time before
  // 1970 is clamped to the epoch.
  ASSERT_THAT(writer->Write(absl::UnixEpoch() - absl::Seconds(5), 1, Hex("aabb")),
              IsOk());
  const Bytes bytes = file.bytes();
  EXPECT_THAT(Bytes(bytes.begin() + 24, bytes.end()),
              ElementsAreArray(Hex("00000000 00000000 02000000 02000000 aabb")));
}

TEST(CaptureFileWriter, OrderOfCallsIsChecked) {
  MemoryFile file;
  auto writer = CaptureFileWriter::Create(Format::kPcapng, file.get());
  EXPECT_THAT(writer->Write(kTime, 1, Hex("00")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("header")));
  ASSERT_THAT(writer->Begin(1, 0, ""), IsOk());
  EXPECT_THAT(writer->Begin(1, 0, ""),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("twice")));
}

TEST(CaptureFileWriter, WriteErrorsCarryErrnoText) {
  for (Format format : {Format::kPcap, Format::kPcapng}) {
    FILE* full = fopen("/dev/full", "we");
    ASSERT_NE(full, nullptr);
    setvbuf(full, nullptr, _IONBF, 0);  // fail at the write, not at a flush
    auto writer = CaptureFileWriter::Create(format, full);
    EXPECT_THAT(writer->Begin(1, 0, ""), StatusIs(absl::StatusCode::kResourceExhausted,
                                                  HasSubstr("No space left on device")));
    // The failure sticks.
    EXPECT_THAT(writer->Write(kTime, 1, Hex("00")),
                StatusIs(absl::StatusCode::kResourceExhausted,
                         HasSubstr("No space left on device")));
    fclose(full);
  }
}

struct Packet {
  absl::Time time;
  uint32_t original_length;
  Bytes data;
};

// The packets as the agent packs them (PacketBatch.records).
std::string Records(const std::vector<Packet>& packets) {
  std::string records;
  for (const Packet& p : packets) {
    const int64_t ns = absl::ToUnixNanos(p.time);
    AppendPacketRecord(
        ns / 1000000000, static_cast<uint32_t>(ns % 1000000000), p.original_length,
        absl::string_view(reinterpret_cast<const char*>(p.data.data()), p.data.size()),
        &records);
  }
  return records;
}

// `packed`: the packets go to WriteRecords as one batch of packed records
// (what the CLI receives), else to Write one by one.
void WritePackets(CaptureFileWriter& writer, const std::vector<Packet>& packets,
                  bool packed) {
  if (packed) {
    std::string records = Records(packets);
    auto written = writer.WriteRecords(&records);
    EXPECT_THAT(written, IsOk());
    if (written.ok()) {
      EXPECT_EQ(*written, packets.size());
    }
  } else {
    for (const Packet& p : packets) {
      EXPECT_THAT(writer.Write(p.time, p.original_length, p.data), IsOk());
    }
  }
}

// The bytes of a whole file: Begin, then `packets` by Write or WriteRecords.
Bytes FileBytes(Format format, const std::vector<Packet>& packets, bool packed) {
  MemoryFile file;
  auto writer = CaptureFileWriter::Create(format, file.get());
  EXPECT_THAT(writer->Begin(1, 262144, "eth0"), IsOk());
  WritePackets(*writer, packets, packed);
  return file.bytes();
}

TEST(CaptureFileWriter, PackedRecordsWriteExactlyWhatWriteWrites) {
  const std::vector<Packet> packets = {
      {kTime, 60, Hex("0102030405")},
      {kTime + absl::Nanoseconds(1), 2, Hex("")},
      // An original length below the captured one is raised, as by Write.
      {kTime + absl::Seconds(1), 1, Hex("aabbcc")},
      {absl::FromUnixSeconds(4294967295) + absl::Nanoseconds(999999999), 7, Hex("ff")},
  };
  for (Format format : {Format::kPcap, Format::kPcapng}) {
    SCOPED_TRACE(format == Format::kPcap ? "pcap" : "pcapng");
    EXPECT_EQ(FileBytes(format, packets, /*packed=*/true),
              FileBytes(format, packets, /*packed=*/false));
  }
}

TEST_F(ExactBytes, PcapTakesPackedRecordsAsTheyAreRaisingShortOriginalLengthsInPlace) {
  MemoryFile file;
  auto writer = CaptureFileWriter::Create(Format::kPcap, file.get());
  ASSERT_THAT(writer->Begin(1, 262144, ""), IsOk());
  std::string records =
      AsString(Hex("00f15365 15cd5b07 05000000 3c000000 0102030405"
                   "00f15365 15cd5b07 02000000 01000000 aabb"));
  auto written = writer->WriteRecords(&records);
  ASSERT_THAT(written, IsOk());
  EXPECT_EQ(*written, 2u);
  const std::string expected =
      AsString(Hex("00f15365 15cd5b07 05000000 3c000000 0102030405"
                   "00f15365 15cd5b07 02000000 02000000 aabb"));
  EXPECT_EQ(records, expected) << "changed in place";
  const Bytes bytes = file.bytes();
  EXPECT_EQ(std::string(bytes.begin() + 24, bytes.end()), expected);
}

TEST(CaptureFileWriter, MalformedRecordsWriteNothingOfTheBatch) {
  for (Format format : {Format::kPcap, Format::kPcapng}) {
    MemoryFile file;
    auto writer = CaptureFileWriter::Create(format, file.get());
    std::string records =
        AsString(Hex("01000000 00000000 02000000 02000000 aabb 01000000"));
    EXPECT_THAT(writer->WriteRecords(&records),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("header")));
    ASSERT_THAT(writer->Begin(1, 262144, ""), IsOk());
    const size_t header = file.bytes().size();
    MemoryFile again;
    writer = CaptureFileWriter::Create(format, again.get());
    ASSERT_THAT(writer->Begin(1, 262144, ""), IsOk());
    EXPECT_THAT(writer->WriteRecords(&records),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("packets.records: record 2 at byte 18")));
    EXPECT_EQ(again.bytes().size(), header);
  }
}

// What tcpdump reads back. A fresh directory under $TMPDIR (or /tmp), removed
// afterwards.
class TcpdumpReads : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kTcpdump, X_OK) != 0) {
      FAIL() << kTcpdump << " is missing (scripts/install-deps.sh installs it)";
    }
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/netprobe-pcap-XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << strerror(errno);
    dir_ = pattern;
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // `packed`: the packets go to WriteRecords as one batch of packed records
  // (what the CLI receives), else to Write one by one.
  std::string WriteFile(Format format, uint32_t dlt, const std::vector<Packet>& packets,
                        bool packed = false) {
    const std::string path =
        absl::StrCat(dir_, format == Format::kPcap ? "/out.pcap" : "/out.pcapng");
    FILE* out = fopen(path.c_str(), "wbe");
    EXPECT_NE(out, nullptr) << strerror(errno);
    if (out == nullptr) return path;
    auto writer = CaptureFileWriter::Create(format, out);
    EXPECT_THAT(writer->Begin(dlt, 262144, "eth0"), IsOk());
    WritePackets(*writer, packets, packed);
    EXPECT_EQ(fclose(out), 0);
    return path;
  }

  // tcpdump's output lines for `args` and the file.
  std::vector<std::string> Tcpdump(std::vector<std::string> args, const std::string& file,
                                   std::string* err = nullptr) {
    std::vector<std::string> argv = {kTcpdump};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"-r", file});
    auto result = RunCommand(argv);
    EXPECT_THAT(result, IsOk());
    if (!result.ok()) return {};
    EXPECT_EQ(result->exit_code, 0) << result->err;
    if (err != nullptr) *err = result->err;
    return absl::StrSplit(result->out, '\n', absl::SkipEmpty());
  }

  std::string dir_;
};

// Packets whose text is the same in tcpdump and in our decoder.
std::vector<Packet> EthernetPackets() {
  const absl::Time t = absl::FromUnixNanos(1700000000000000001);
  return {
      // UDP over IPv4 and IPv6
      {t, 53,
       Hex("2eaa568571277e8e355698e7080045000027a953400040110539c612000ac612000b9c401388"
           "00138c5e68656c6c6f20776f726c64")},
      {t + absl::Nanoseconds(999999998), 73,
       Hex("2eaa568571277e8e355698e786dd600cc27f001311402001000200000000000000000000000a"
           "2001000200000000000000000000000b9c4013880013403f68656c6c6f20776f726c64")},
      // TCP SYN with options
      {t + absl::Seconds(2) + absl::Nanoseconds(123456789), 74,
       Hex("2eaa568571277e8e355698e708004500003cdf2040004006cf61c612000ac612000b9c410050"
           "0bde02cf00000000a002faf08c680000020405b40402080afa842ee3000000000103030a")},
      // ARP request
      {t + absl::Seconds(3), 42,
       Hex("ffffffffffff7e8e355698e7080600010800060400017e8e355698e7c612000a000000000000"
           "c612000b")},
      // ICMP echo request, cut by a 42-byte snap length
      {t + absl::Seconds(4) + absl::Nanoseconds(999999999), 98,
       Hex("2eaa568571277e8e355698e7080045000054e28e40004001cbe0c612000ac612000b0800d28a"
           "0dd70001")},
  };
}

TEST_F(TcpdumpReads, PcapAndPcapngWithNanosecondTimes) {
  const std::vector<Packet> packets = EthernetPackets();
  for (bool packed : {false, true})
    for (Format format : {Format::kPcap, Format::kPcapng}) {
      SCOPED_TRACE(absl::StrCat(format == Format::kPcap ? "pcap" : "pcapng",
                                packed ? ", packed records" : ""));
      const std::string file = WriteFile(format, kDltEthernet, packets, packed);
      std::string err;
      const std::vector<std::string> exact =
          Tcpdump({"-n", "-S", "--nano", "-tt"}, file, &err);
      EXPECT_THAT(err, HasSubstr("link-type EN10MB (Ethernet)"));
      std::vector<std::string> expected;
      for (const Packet& p : packets) {
        const int64_t ns = absl::ToUnixNanos(p.time);
        expected.push_back(
            absl::StrFormat("%d.%09d %s", ns / 1000000000, ns % 1000000000,
                            DescribePacket(kDltEthernet, p.original_length, p.data)));
      }
      EXPECT_THAT(exact, ElementsAreArray(expected));

      // tcpdump's default line, local time to the microsecond, is ours.
      const std::vector<std::string> lines = Tcpdump({"-n", "-S"}, file);
      expected.clear();
      for (const Packet& p : packets) {
        std::string line = FormatPacketLine(kDltEthernet, p.time, p.original_length,
                                            p.data, absl::LocalTimeZone());
        line.pop_back();  // the newline
        expected.push_back(line);
      }
      EXPECT_THAT(lines, ElementsAreArray(expected));
    }
}

TEST_F(TcpdumpReads, RawIpFromEitherDltRaw) {
  const Bytes udp = Hex(
      "45000027a953400040110539c612000ac612000b9c40138800138c5e68656c6c6f20776f726c64");
  for (uint32_t dlt : {kDltRaw, kDltRawOpenBsd}) {
    for (Format format : {Format::kPcap, Format::kPcapng}) {
      SCOPED_TRACE(
          absl::StrCat("DLT ", dlt, format == Format::kPcap ? " pcap" : " pcapng"));
      const std::string file = WriteFile(format, dlt, {{kTime, 39, udp}});
      std::string err;
      const std::vector<std::string> lines = Tcpdump({"-n", "--nano", "-tt"}, file, &err);
      EXPECT_THAT(err, HasSubstr("link-type RAW (Raw IP)"));
      EXPECT_THAT(lines, ElementsAreArray({absl::StrCat("1700000000.123456789 ",
                                                        DescribePacket(dlt, 39, udp))}));
    }
  }
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
