// The multi-interface pcapng writer: what Wireshark's own readers (tshark,
// capinfos) read back of its section, interfaces, packet comments and
// interface statistics, and its errors.
#include "client/output/pcapng_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/packet_records.h"
#include "tests/test_support/status_matchers.h"
#include "tests/test_support/subprocess.h"
#include "tests/test_support/wireshark_files.h"

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::RunCommand;
using ::netprobe::testing::StatusIs;
using ::netprobe::testing::WiresharkFilesTest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint32_t kDltEn10mb = 1;
constexpr uint32_t kDltLinuxSll2 = 276;

// An Ethernet frame carrying an IPv4 UDP datagram 10.9.0.1:4000 -> 10.9.0.2:5000.
std::vector<uint8_t> UdpFrame(uint8_t last_payload_byte) {
  std::vector<uint8_t> frame = {0x02, 0,
                                0,    0,
                                0,    2,
                                0x02, 0,
                                0,    0,
                                0,    1,
                                0x08, 0x00,  // Ethernet
                                0x45, 0,
                                0,    30,
                                0,    1,
                                0x40, 0,
                                64,   17,
                                0,    0,  // IPv4, 30 bytes
                                10,   9,
                                0,    1,
                                10,   9,
                                0,    2,  //
                                0x0f, 0xa0,
                                0x13, 0x88,
                                0,    10,
                                0,    0,  // UDP, 10 bytes
                                'h',  last_payload_byte};
  return frame;
}

class PcapngWriterTest : public WiresharkFilesTest {
 protected:
  void SetUp() override {
    WiresharkFilesTest::SetUp();
    if (HasFatalFailure()) return;
    path_ = dir_ + "/out.pcapng";
  }

  std::string path_;
};

TEST_F(PcapngWriterTest, TwoInterfacesCommentsAndStatisticsReadBackByTshark) {
  FILE* out = fopen(path_.c_str(), "wbe");
  ASSERT_NE(out, nullptr);
  {
    PcapngWriter writer(out);
    PcapngWriter::Section section = PcapngWriter::DefaultSection("netprobe 9.9.9");
    ASSERT_THAT(writer.Begin(section), IsOk());
    PcapngWriter::Interface first;
    first.dlt = kDltEn10mb;
    first.name = "agent-a/veth0";
    first.description = "veth0 on agent-a";
    first.filter = "udp port 5000";
    first.os = "Linux 6.1";
    auto a = writer.AddInterface(first);
    ASSERT_THAT(a, IsOk());
    PcapngWriter::Interface other;
    other.dlt = kDltEn10mb;
    other.snaplen = 1500;
    other.name = "agent-b/eth1";
    auto b = writer.AddInterface(other);
    ASSERT_THAT(b, IsOk());
    EXPECT_EQ(*a, 0u);
    EXPECT_EQ(*b, 1u);
    const absl::Time t0 = absl::FromUnixNanos(1700000000000000001);
    EXPECT_THAT(writer.WritePacket(*a, t0, 0, UdpFrame('1'), "ping seq=5 reply 0.41 ms"),
                IsOk());
    std::string records;
    const std::vector<uint8_t> second = UdpFrame('2');
    AppendPacketRecord(
        1700000000, 500, 60,
        absl::string_view(reinterpret_cast<const char*>(second.data()), second.size()),
        &records);
    EXPECT_THAT(writer.WriteRecords(*b, records), IsOk());
    EXPECT_THAT(writer.WritePacket(*a, t0 + absl::Milliseconds(1), 80, UdpFrame('3')),
                IsOk());
    PcapngWriter::InterfaceStats stats;
    stats.time = t0 + absl::Seconds(1);
    stats.start = t0;
    stats.end = t0 + absl::Seconds(1);
    stats.received = 10;
    stats.dropped = 7;
    stats.os_dropped = 3;
    stats.delivered = 2;
    stats.comment = "kernel dropped 3, agent dropped 4";
    EXPECT_THAT(writer.WriteStats(*a, stats), IsOk());
    PcapngWriter::InterfaceStats none;
    none.time = t0 + absl::Seconds(1);
    none.dropped = 0;
    EXPECT_THAT(writer.WriteStats(*b, none), IsOk());
    EXPECT_THAT(writer.Flush(), IsOk());
  }
  ASSERT_EQ(fclose(out), 0);

  EXPECT_THAT(
      Lines({"/usr/bin/tshark", "-r", path_, "-T", "fields", "-e", "frame.interface_name",
             "-e", "frame.comment", "-e", "frame.time_epoch", "-e", "frame.len", "-e",
             "udp.dstport"}),
      ElementsAre(
          "agent-a/veth0\tping seq=5 reply 0.41 ms\t1700000000.000000001\t44\t5000",
          "agent-b/eth1\t\t1700000000.000000500\t60\t5000",
          "agent-a/veth0\t\t1700000000.001000001\t80\t5000"));
  const std::string info = Run({"/usr/bin/capinfos", "-M", path_});
  EXPECT_THAT(info, HasSubstr("Number of packets:   3"));
  EXPECT_THAT(info, HasSubstr("Number of interfaces in file: 2"));
  EXPECT_THAT(info, HasSubstr("Capture application: netprobe 9.9.9"));
  EXPECT_THAT(info, HasSubstr("Name = agent-a/veth0"));
  EXPECT_THAT(info, HasSubstr("Description = veth0 on agent-a"));
  EXPECT_THAT(info, HasSubstr("Capture length = 262144"));
  EXPECT_THAT(info, HasSubstr("Time precision = nanoseconds (9)"));
  EXPECT_THAT(info, HasSubstr("Number of stat entries = 1"));
  EXPECT_THAT(info, HasSubstr("Name = agent-b/eth1"));
  EXPECT_THAT(info, HasSubstr("Capture length = 1500"));
}

TEST_F(PcapngWriterTest, MisuseIsRefusedWithoutWriting) {
  FILE* out = fopen(path_.c_str(), "wbe");
  ASSERT_NE(out, nullptr);
  PcapngWriter writer(out);
  PcapngWriter::Interface any;
  any.dlt = kDltLinuxSll2;
  EXPECT_THAT(writer.AddInterface(any), StatusIs(absl::StatusCode::kFailedPrecondition,
                                                 HasSubstr("section header")));
  ASSERT_THAT(writer.Begin({}), IsOk());
  EXPECT_THAT(writer.Begin({}), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(writer.WritePacket(0, absl::Now(), 0, UdpFrame('x')),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("interface 0 not described (0 are)")));
  ASSERT_THAT(writer.AddInterface(any), IsOk());
  EXPECT_THAT(writer.WriteRecords(0, "short"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("packets.records")));
  ASSERT_EQ(fclose(out), 0);
  // The section and the interface, nothing of the refused calls.
  EXPECT_EQ(std::filesystem::file_size(path_), 28u + 32u);
}

TEST(PcapngWriterErrors, AWriteErrorSticks) {
  FILE* full = fopen("/dev/full", "we");
  ASSERT_NE(full, nullptr);
  setvbuf(full, nullptr, _IONBF, 0);
  PcapngWriter writer(full);
  EXPECT_THAT(writer.Begin({}), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(writer.AddInterface({}), StatusIs(absl::StatusCode::kResourceExhausted));
  fclose(full);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
