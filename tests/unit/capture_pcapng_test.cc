// Capture streams to one pcapng (CapturePcapng): the blocks mapped from
// scripted CaptureEvents, byte for byte after the section header, and what
// tshark and capinfos read back; the merge of several agents' streams in
// timestamp order (watermarks, the hold bound, late packets, the memory
// bound), on scripted times.
#include "client/output/capture_pcapng.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/packet_records.h"
#include "common/proto_time.h"
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
// 2023-11-14 22:13:20 UTC
constexpr int64_t kT0 = 1700000000;

// An Ethernet frame of an IPv4 UDP datagram 10.9.0.1:4000 -> 10.9.0.2:5000
// whose 2-byte payload is "h" and `last`.
std::string UdpFrame(char last) {
  const std::string hex =
      "020000000002 020000000001 0800"
      "4500001e 00014000 40110000 0a090001 0a090002"
      "0fa01388 000a0000";
  return absl::StrCat(absl::HexStringToBytes(absl::StrReplaceAll(hex, {{" ", ""}})), "h",
                      std::string(1, last));
}

v1::CaptureEvent Header(const std::string& interface, const std::string& filter) {
  v1::CaptureEvent event;
  v1::CaptureHeader* h = event.mutable_header();
  h->set_link_type(kDltEn10mb);
  h->set_link_type_name("EN10MB");
  h->set_snaplen(262144);
  h->set_interface(interface);
  h->set_effective_filter(filter);
  return event;
}

// Packets at kT0 + each of `millis`, as packed records.
v1::CaptureEvent Records(std::vector<int> millis, char payload = 'r') {
  v1::CaptureEvent event;
  std::string* records = event.mutable_packets()->mutable_records();
  for (int ms : millis) {
    const std::string frame = UdpFrame(payload);
    AppendPacketRecord(kT0 + ms / 1000, static_cast<uint32_t>(ms % 1000) * 1000000,
                       static_cast<uint32_t>(frame.size()), frame, records);
  }
  return event;
}

// One Packet message at kT0 + `millis`, with a comment.
v1::CaptureEvent Message(int millis, const std::string& comment) {
  v1::CaptureEvent event;
  v1::Packet* p = event.mutable_packets()->add_packets();
  ToProto(absl::FromUnixSeconds(kT0) + absl::Milliseconds(millis), p->mutable_time());
  p->set_data(UdpFrame('m'));
  p->set_captured_length(static_cast<uint32_t>(p->data().size()));
  p->set_original_length(static_cast<uint32_t>(p->data().size()));
  p->set_comment(comment);
  return event;
}

v1::CaptureEvent Stats(uint64_t received, uint64_t kernel, uint64_t interface,
                       uint64_t agent, uint64_t delivered) {
  v1::CaptureEvent event;
  v1::CaptureStats* s = event.mutable_stats();
  s->set_received(received);
  s->set_kernel_dropped(kernel);
  s->set_interface_dropped(interface);
  s->set_agent_dropped(agent);
  s->set_delivered(delivered);
  return event;
}

v1::CaptureEvent End() {
  v1::CaptureEvent event;
  event.mutable_end()->set_reason(v1::StreamEnd::REASON_LIMIT);
  return event;
}

absl::Time At(int millis) {
  return absl::FromUnixSeconds(kT0) + absl::Milliseconds(millis);
}

// One pcapng block: its type and its body (between the length fields).
struct Block {
  uint32_t type = 0;
  std::string body;
};

std::vector<Block> Blocks(const std::string& file) {
  std::vector<Block> blocks;
  size_t at = 0;
  while (at + 12 <= file.size()) {
    uint32_t type = 0, length = 0;
    std::memcpy(&type, file.data() + at, 4);
    std::memcpy(&length, file.data() + at + 4, 4);
    if (length < 12 || at + length > file.size()) break;
    blocks.push_back({type, file.substr(at + 8, length - 12)});
    at += length;
  }
  EXPECT_EQ(at, file.size()) << "a block overruns the file";
  return blocks;
}

// Little-endian hex (the tests run on x86_64 and arm64 Linux, little-endian).
std::string Le(absl::string_view hex) {
  return absl::HexStringToBytes(absl::StrReplaceAll(hex, {{" ", ""}, {"\n", ""}}));
}

class CapturePcapngTest : public WiresharkFilesTest {
 protected:
  void SetUp() override {
    WiresharkFilesTest::SetUp();
    if (HasFatalFailure()) return;
    path_ = dir_ + "/out.pcapng";
    file_ = fopen(path_.c_str(), "wbe");
    ASSERT_NE(file_, nullptr);
  }

  void TearDown() override {
    if (file_ != nullptr) fclose(file_);
    WiresharkFilesTest::TearDown();
  }

  // Closes the file; returns its bytes.
  std::string Close() {
    EXPECT_EQ(fclose(file_), 0);
    file_ = nullptr;
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string path_;
  FILE* file_ = nullptr;
};

TEST_F(CapturePcapngTest, OneAgentsStreamBecomesItsBlocksByteForByte) {
  CapturePcapng pcapng(file_, {.application = "netprobe 9.9.9"});
  const size_t a = pcapng.AddSource("lab0", "unix:/run/a.sock");
  ASSERT_THAT(pcapng.Begin(), IsOk());
  ASSERT_THAT(pcapng.Add(a, Header("eth0", "udp port 5000"), At(-1000)), IsOk());
  ASSERT_THAT(pcapng.Add(a, Records({0, 1}), At(10)), IsOk());
  ASSERT_THAT(pcapng.Add(a, Message(2, "ping seq=5 reply 0.41 ms"), At(10)), IsOk());
  ASSERT_THAT(pcapng.Add(a, Stats(10, 3, 1, 2, 4), At(20)), IsOk());
  ASSERT_THAT(pcapng.Add(a, End(), At(1500)), IsOk());
  ASSERT_THAT(pcapng.Finish(At(2000)), IsOk());
  EXPECT_EQ(pcapng.written(a), 3u);
  EXPECT_EQ(pcapng.late(a), 0u);
  const std::string bytes = Close();

  const std::vector<Block> blocks = Blocks(bytes);
  ASSERT_EQ(blocks.size(), 6u);
  EXPECT_EQ(blocks[0].type, 0x0a0d0d0au);  // section header (uname: not fixed)
  EXPECT_THAT(blocks[0].body, HasSubstr("netprobe 9.9.9"));
  // Interface Description Block: EN10MB, snaplen 262144, if_name,
  // if_description, if_filter (type 0, then the string), if_tsresol 9.
  EXPECT_EQ(blocks[1].type, 1u);
  const std::string name = "lab0/eth0";  // 9 bytes
  const std::string description =        // 64 bytes
      "eth0 on netprobe agent lab0 (unix:/run/a.sock), link-type EN10MB";
  ASSERT_EQ(description.size(), 64u);
  EXPECT_EQ(blocks[1].body,
            absl::StrCat(Le("0100 0000 00000400"),                     //
                         Le("0200 0900"), name, std::string(3, '\0'),  // if_name
                         Le("0300 4000"), description,                 // if_description
                         Le("0b00 0e00"), std::string(1, '\0'), "udp port 5000",
                         std::string(2, '\0'),                         // if_filter
                         Le("0900 0100 09000000"), Le("0000 0000")));  // if_tsresol, end
  // Three Enhanced Packet Blocks on interface 0, the last with its comment.
  for (int i : {2, 3, 4}) {
    EXPECT_EQ(blocks[i].type, 6u);
    EXPECT_EQ(blocks[i].body.substr(0, 4), Le("00000000"));
  }
  EXPECT_THAT(blocks[4].body, HasSubstr("ping seq=5 reply 0.41 ms"));
  // Interface Statistics Block: interface 0, the end time (kT0 + 1.5 s in
  // ns: 0x1797 9cfe 5cf1 6d00 ... as high, low words), comment, start, end,
  // ifrecv 10, ifdrop 3+1+2 = 6, osdrop 3, usrdeliv 4.
  EXPECT_EQ(blocks[5].type, 5u);
  const std::string comment =
      "kernel dropped 3, interface dropped 1, agent dropped 2 (the client read too "
      "slowly)";
  auto ts = [](absl::Time t) {
    const uint64_t ns = static_cast<uint64_t>(absl::ToUnixNanos(t));
    const uint32_t words[2] = {static_cast<uint32_t>(ns >> 32),
                               static_cast<uint32_t>(ns)};
    return std::string(reinterpret_cast<const char*>(words), 8);
  };
  auto counter = [](uint16_t code, uint64_t value) {
    const uint16_t head[2] = {code, 8};
    return absl::StrCat(std::string(reinterpret_cast<const char*>(head), 4),
                        std::string(reinterpret_cast<const char*>(&value), 8));
  };
  const uint16_t comment_head[2] = {1, static_cast<uint16_t>(comment.size())};
  EXPECT_EQ(
      blocks[5].body,
      absl::StrCat(Le("00000000"), ts(At(1500)),
                   std::string(reinterpret_cast<const char*>(comment_head), 4), comment,
                   std::string((4 - comment.size() % 4) % 4, '\0'), Le("0200 0800"),
                   ts(At(-1000)), Le("0300 0800"), ts(At(1500)), counter(4, 10),
                   counter(5, 6), counter(7, 3), counter(8, 4), Le("0000 0000")));

  // Wireshark's own reading of it.
  EXPECT_THAT(
      TsharkFields(path_, {"frame.interface_name", "frame.interface_description",
                           "frame.time_epoch", "frame.comment"}),
      ElementsAre(absl::StrCat(name, "\t", description, "\t1700000000.000000000\t"),
                  absl::StrCat(name, "\t", description, "\t1700000000.001000000\t"),
                  absl::StrCat(name, "\t", description,
                               "\t1700000000.002000000\tping seq=5 reply 0.41 ms")));
  const std::vector<std::string> info = Lines({"/usr/bin/capinfos", "-M", path_});
  const std::string all = absl::StrJoin(info, "\n");
  EXPECT_THAT(all, HasSubstr("Capture application: netprobe 9.9.9"));
  EXPECT_THAT(all, HasSubstr("Number of packets:   3"));
  EXPECT_THAT(all, HasSubstr("Name = lab0/eth0"));
  EXPECT_THAT(all, HasSubstr("Filter string = udp port 5000"));
  EXPECT_THAT(all, HasSubstr("Number of stat entries = 1"));
  EXPECT_THAT(all, HasSubstr("Number of packets = 3"));
}

// Two agents: a at 0, 10, 20 ms; b at 5, 15 ms. The merge writes each packet
// once the other agent has shown a later one, or has ended.
TEST_F(CapturePcapngTest, TwoAgentsMergeInTimestampOrderOnWatermarks) {
  CapturePcapng pcapng(file_, {.application = "netprobe 9.9.9"});
  const size_t a = pcapng.AddSource("a", "198.18.0.1:50051");
  const size_t b = pcapng.AddSource("b", "198.18.0.2:50051");
  ASSERT_THAT(pcapng.Begin(), IsOk());
  ASSERT_THAT(pcapng.Add(a, Header("eth0", "udp"), At(0)), IsOk());
  ASSERT_THAT(pcapng.Add(b, Header("any", "udp"), At(0)), IsOk());
  ASSERT_THAT(pcapng.Add(a, Records({0, 10, 20}, 'a'), At(30)), IsOk());
  ASSERT_THAT(pcapng.Release(At(30)), IsOk());
  // b has shown nothing yet: a's packets wait.
  EXPECT_EQ(pcapng.written(a), 0u);
  EXPECT_EQ(pcapng.held_packets(), 3u);
  ASSERT_THAT(pcapng.Add(b, Records({5, 15}, 'b'), At(40)), IsOk());
  ASSERT_THAT(pcapng.Release(At(40)), IsOk());
  // Up to b's 15 ms: a 0, b 5, a 10, b 15 (b's 15 waits for a's 20: a is
  // already there). a's 20 waits for b.
  EXPECT_EQ(pcapng.written(a), 2u);
  EXPECT_EQ(pcapng.written(b), 2u);
  ASSERT_THAT(pcapng.Add(b, Stats(2, 0, 0, 0, 2), At(50)), IsOk());
  ASSERT_THAT(pcapng.Add(b, End(), At(50)), IsOk());
  // b ended: nothing to wait for.
  EXPECT_EQ(pcapng.written(a), 3u);
  ASSERT_THAT(pcapng.Add(a, Stats(3, 0, 0, 1, 3), At(60)), IsOk());
  ASSERT_THAT(pcapng.Finish(At(70)), IsOk());
  Close();

  EXPECT_THAT(TsharkFields(path_, {"frame.interface_name", "frame.time_epoch"}),
              ElementsAre("a/eth0\t1700000000.000000000", "b/any\t1700000000.005000000",
                          "a/eth0\t1700000000.010000000", "b/any\t1700000000.015000000",
                          "a/eth0\t1700000000.020000000"));
  const std::string info = absl::StrJoin(Lines({"/usr/bin/capinfos", "-M", path_}), "\n");
  EXPECT_THAT(info, HasSubstr("Number of interfaces in file: 2"));
  EXPECT_THAT(info, HasSubstr("Strict time order:   True"));
  EXPECT_THAT(info, HasSubstr("Name = a/eth0"));
  EXPECT_THAT(info, HasSubstr("Name = b/any"));
}

// b stays silent: a's packet goes once it has been held for the bound; a
// packet of b older than one written is left out and counted; the held bytes
// stay under their bound.
TEST_F(CapturePcapngTest, HoldBoundLatePacketsAndMemoryBound) {
  CapturePcapng pcapng(file_, {.application = "netprobe 9.9.9",
                               .hold = absl::Seconds(1),
                               .max_held_bytes = 3 * UdpFrame('x').size()});
  const size_t a = pcapng.AddSource("a", "");
  const size_t b = pcapng.AddSource("b", "");
  ASSERT_THAT(pcapng.Begin(), IsOk());
  ASSERT_THAT(pcapng.Add(a, Header("eth0", ""), At(0)), IsOk());
  ASSERT_THAT(pcapng.Add(b, Header("eth0", ""), At(0)), IsOk());
  ASSERT_THAT(pcapng.Add(a, Records({100}), At(100)), IsOk());
  ASSERT_THAT(pcapng.Release(At(1099)), IsOk());
  EXPECT_EQ(pcapng.written(a), 0u);  // held 999 ms
  ASSERT_THAT(pcapng.Release(At(1100)), IsOk());
  EXPECT_EQ(pcapng.written(a), 1u);  // held 1 s
  // b's packet of 50 ms comes after a's 100 ms was written: left out.
  ASSERT_THAT(pcapng.Add(b, Records({50, 150}), At(1200)), IsOk());
  EXPECT_EQ(pcapng.late(b), 1u);
  EXPECT_EQ(pcapng.held_packets(), 1u);
  // Four more of a's: the bound is three packets' bytes, so the oldest goes
  // early (b's 150, then a's 200).
  ASSERT_THAT(pcapng.Add(a, Records({200, 300, 400, 500}), At(1300)), IsOk());
  EXPECT_EQ(pcapng.written_early(), 2u);
  EXPECT_EQ(pcapng.held_packets(), 3u);
  EXPECT_LE(pcapng.held_bytes(), 3 * UdpFrame('x').size());
  ASSERT_THAT(pcapng.Add(b, Stats(2, 0, 0, 0, 2), At(1400)), IsOk());
  ASSERT_THAT(pcapng.Finish(At(1500)), IsOk());
  EXPECT_EQ(pcapng.written(a), 5u);
  EXPECT_EQ(pcapng.written(b), 1u);
  const std::string bytes = Close();

  const std::vector<std::string> times =
      TsharkFields(path_, {"frame.interface_name", "frame.time_epoch"});
  EXPECT_THAT(
      times, ElementsAre("a/eth0\t1700000000.100000000", "b/eth0\t1700000000.150000000",
                         "a/eth0\t1700000000.200000000", "a/eth0\t1700000000.300000000",
                         "a/eth0\t1700000000.400000000", "a/eth0\t1700000000.500000000"));
  // b's statistics count the packet the merge left out among its drops.
  const std::vector<Block> blocks = Blocks(bytes);
  ASSERT_FALSE(blocks.empty());
  const Block& b_stats = blocks.back();
  EXPECT_EQ(b_stats.type, 5u);
  EXPECT_EQ(b_stats.body.substr(0, 4), Le("01000000"));
  EXPECT_THAT(b_stats.body, HasSubstr("merge left out 1"));
  const uint16_t ifdrop[2] = {5, 8};
  const uint64_t one = 1;
  EXPECT_THAT(b_stats.body, HasSubstr(absl::StrCat(
                                std::string(reinterpret_cast<const char*>(ifdrop), 4),
                                std::string(reinterpret_cast<const char*>(&one), 8))));
}

TEST_F(CapturePcapngTest, PacketsBeforeTheHeaderAndMalformedRecordsAreRefused) {
  CapturePcapng pcapng(file_, {.application = "netprobe 9.9.9"});
  const size_t a = pcapng.AddSource("a", "");
  const size_t b = pcapng.AddSource("b", "");
  ASSERT_THAT(pcapng.Begin(), IsOk());
  EXPECT_THAT(pcapng.Add(a, Records({1}), At(0)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("agent a sent packets before its capture header")));
  ASSERT_THAT(pcapng.Add(b, Header("eth0", ""), At(0)), IsOk());
  v1::CaptureEvent bad = Records({1, 2});
  bad.mutable_packets()->mutable_records()->resize(20);
  EXPECT_THAT(pcapng.Add(b, bad, At(0)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("packets.records")));
  EXPECT_EQ(pcapng.held_packets(), 0u);
  EXPECT_FALSE(pcapng.began(a));
  EXPECT_TRUE(pcapng.began(b));
  ASSERT_THAT(pcapng.Finish(At(1)), IsOk());
  // An agent that never began has no interface and no statistics.
  Close();
  const std::string info = absl::StrJoin(Lines({"/usr/bin/capinfos", "-M", path_}), "\n");
  EXPECT_THAT(info, HasSubstr("Number of interfaces in file: 1"));
  EXPECT_THAT(info, HasSubstr("Name = b/eth0"));
}

TEST(CapturePcapngDropBreakdown, NamesEachDropAndWhyTheAgentDropped) {
  v1::CaptureStats stats;
  stats.set_kernel_dropped(1);
  stats.set_interface_dropped(2);
  stats.set_agent_dropped(3);
  EXPECT_EQ(CapturePcapng::DropBreakdown(stats, 0),
            "kernel dropped 1, interface dropped 2, agent dropped 3 (the client read too "
            "slowly)");
  // A probe's capture also drops beyond its packet limit (Options).
  EXPECT_EQ(CapturePcapng::DropBreakdown(stats, 4, "beyond the packet limit"),
            "kernel dropped 1, interface dropped 2, agent dropped 3 (beyond the packet "
            "limit), merge left out 4 (they came after later packets had been written)");
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
