// Captures tied to a probe, the client's side (issue 22): a scripted stream of
// ProbeCaptureEvents written as pcapng and read back by tshark and capinfos;
// the --capture flags; the file's life around a call (created, kept, removed
// when the agent refused) without any agent.
#include "client/output/probe_capture_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/commands/ping_command.h"
#include "client/commands/probe_capture.h"
#include "client/commands/tcp_command.h"
#include "client/commands/throughput_command.h"
#include "client/commands/traceroute_command.h"
#include "client/commands/udp_command.h"
#include "client/exit_codes.h"
#include "client/fanout/fanout.h"
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

constexpr uint32_t kDltLinuxSll = 113;

// A Linux cooked frame (as a capture on "any" has them) carrying an IPv4
// ICMP echo request or reply 198.18.0.10 <-> 198.18.0.11, id 0x1234.
std::string EchoFrame(bool reply, uint16_t sequence) {
  std::string frame;
  auto put = [&](std::initializer_list<int> bytes) {
    for (int b : bytes) frame.push_back(static_cast<char>(b));
  };
  put({0, reply ? 0 : 4});               // SLL packet type: to us / outgoing
  put({0, 1, 0, 6});                     // ARPHRD_ETHER, address length 6
  put({2, 0, 0, 0, 0, 1, 0, 0});         // link-layer address
  put({0x08, 0x00});                     // protocol: IPv4
  put({0x45, 0, 0, 36, 0, 1, 0x40, 0});  // IPv4, 36 bytes, DF
  put({64, 1, 0, 0});                    // TTL 64, ICMP, checksum
  put({198, 18, 0, reply ? 11 : 10, 198, 18, 0, reply ? 10 : 11});
  put({reply ? 0 : 8, 0, 0, 0});  // echo reply / request, checksum
  put({0x12, 0x34, sequence >> 8, sequence & 0xff});
  frame += "netprobe";
  return frame;
}

v1::ProbeCaptureEvent Header(const std::string& filter) {
  v1::ProbeCaptureEvent event;
  v1::CaptureHeader* h = event.mutable_header();
  h->set_link_type(kDltLinuxSll);
  h->set_link_type_name("LINUX_SLL");
  h->set_snaplen(262144);
  h->set_interface("any");
  h->set_effective_filter(filter);
  return event;
}

void AddPacket(v1::ProbeCaptureEvent* event, absl::Time time, const std::string& data,
               const std::string& comment) {
  v1::Packet* p = event->mutable_packets()->add_packets();
  ToProto(time, p->mutable_time());
  p->set_captured_length(data.size());
  p->set_original_length(data.size());
  p->set_data(data);
  p->set_comment(comment);
}

v1::ProbeCaptureEvent Stats(uint64_t received, uint64_t kernel, uint64_t interface,
                            uint64_t agent, uint64_t delivered) {
  v1::ProbeCaptureEvent event;
  v1::CaptureStats* s = event.mutable_stats();
  s->set_received(received);
  s->set_kernel_dropped(kernel);
  s->set_interface_dropped(interface);
  s->set_agent_dropped(agent);
  s->set_delivered(delivered);
  return event;
}

// The 64-bit counters (isb_ifrecv 4, isb_ifdrop 5, isb_osdrop 7, isb_usrdeliv
// 8) of the one Interface Statistics Block in a pcapng file in this host's
// byte order.
std::map<uint16_t, uint64_t> IsbCounters(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), {});
  std::map<uint16_t, uint64_t> counters;
  for (size_t at = 0; at + 12 <= file.size();) {
    uint32_t type = 0, length = 0;
    std::memcpy(&type, file.data() + at, 4);
    std::memcpy(&length, file.data() + at + 4, 4);
    if (length < 12 || at + length > file.size()) break;
    if (type == 5) {  // options after the interface id and the timestamp
      for (size_t o = at + 8 + 12; o + 4 <= at + length - 4;) {
        uint16_t code = 0, size = 0;
        std::memcpy(&code, file.data() + o, 2);
        std::memcpy(&size, file.data() + o + 2, 2);
        if (code == 0) break;
        if (code >= 4 && code <= 8 && size == 8) {
          uint64_t value = 0;
          std::memcpy(&value, file.data() + o + 4, 8);
          counters[code] = value;
        }
        o += 4 + ((size + 3u) & ~3u);
      }
    }
    at += length;
  }
  return counters;
}

class ProbeCaptureFileTest : public WiresharkFilesTest {
 protected:
  void SetUp() override {
    WiresharkFilesTest::SetUp();
    if (HasFatalFailure()) return;
    path_ = dir_ + "/ping.pcapng";
  }

  void TearDown() override {
    if (err_ != nullptr) fclose(err_);
    free(err_text_);
    WiresharkFilesTest::TearDown();
  }

  // A ping command's context with `args` parsed; stderr into err().
  CommandContext PingContext(std::vector<std::string> args) {
    CommandContext ctx;
    ctx.agent = "unix:/run/a.sock";
    ctx.agent_name = "edge1";
    auto parsed = OptionParser(PingOptions()).Parse(args);
    EXPECT_THAT(parsed, IsOk());
    if (parsed.ok()) ctx.options = *std::move(parsed);
    if (err_ != nullptr) fclose(err_);  // a test may build several contexts
    free(err_text_);
    err_text_ = nullptr;
    err_ = open_memstream(&err_text_, &err_size_);
    ctx.err = err_;
    return ctx;
  }
  std::string err() {
    fflush(err_);
    return std::string(err_text_, err_size_);
  }

  std::string path_;
  FILE* err_ = nullptr;
  char* err_text_ = nullptr;
  size_t err_size_ = 0;
};

TEST_F(ProbeCaptureFileTest, ScriptedEventsReadBackByTsharkWithCommentsAndDrops) {
  const absl::Time t0 = absl::FromUnixNanos(1700000000000000001);
  FILE* out = fopen(path_.c_str(), "wbe");
  ASSERT_NE(out, nullptr);
  {
    ProbeCaptureFile file(out, "edge1", "", "netprobe 9.9.9");
    EXPECT_FALSE(file.began());
    ASSERT_THAT(file.Add(Header("icmp and icmp[4:2] = 0x1234"), t0), IsOk());
    EXPECT_TRUE(file.began());
    v1::ProbeCaptureEvent first;
    AddPacket(&first, t0, EchoFrame(false, 1), "ping seq=1 request");
    AddPacket(&first, t0 + absl::Microseconds(410), EchoFrame(true, 1),
              "ping seq=1 reply 0.41 ms");
    ASSERT_THAT(file.Add(first, t0), IsOk());
    v1::ProbeCaptureEvent second;
    AddPacket(&second, t0 + absl::Seconds(1), EchoFrame(false, 2),
              "ping seq=2 request (timeout)");
    ASSERT_THAT(file.Add(second, t0), IsOk());
    ASSERT_THAT(file.Add(Stats(5, 1, 0, 1, 3), t0 + absl::Seconds(2)), IsOk());
    EXPECT_EQ(file.captured(), 3u);
    ASSERT_THAT(file.End(t0 + absl::Seconds(2)), IsOk());
  }
  ASSERT_EQ(fclose(out), 0);

  EXPECT_THAT(
      Lines({"/usr/bin/tshark", "-r", path_, "-T", "fields", "-e", "frame.interface_name",
             "-e", "frame.comment", "-e", "icmp.type", "-e", "icmp.seq", "-e",
             "frame.time_epoch"}),
      ElementsAre("edge1/any\tping seq=1 request\t8\t1\t1700000000.000000001",
                  "edge1/any\tping seq=1 reply 0.41 ms\t0\t1\t1700000000.000410001",
                  "edge1/any\tping seq=2 request (timeout)\t8\t2\t1700000001.000000001"));
  const std::string info = Run({"/usr/bin/capinfos", "-M", path_});
  EXPECT_THAT(info, HasSubstr("Number of packets:   3"));
  EXPECT_THAT(info, HasSubstr("Capture application: netprobe 9.9.9"));
  EXPECT_THAT(info, HasSubstr("Number of interfaces in file: 1"));
  EXPECT_THAT(info, HasSubstr("Name = edge1/any"));
  EXPECT_THAT(info, HasSubstr("Description = any on netprobe agent edge1"));
  EXPECT_THAT(info, HasSubstr("Filter string = icmp and icmp[4:2] = 0x1234"));
  EXPECT_THAT(info, HasSubstr("Encapsulation = Linux cooked-mode capture v1"));
  EXPECT_THAT(info, HasSubstr("Number of stat entries = 1"));
  // The interface statistics (capinfos shows only that there is one):
  // isb_ifrecv 5, isb_ifdrop every drop (kernel 1 + agent 1), isb_osdrop the
  // kernel's, isb_usrdeliv 3.
  const std::map<uint16_t, uint64_t> counters = IsbCounters(path_);
  EXPECT_EQ(counters, (std::map<uint16_t, uint64_t>{{4, 5}, {5, 2}, {7, 1}, {8, 3}}));
}

TEST(ProbeCaptureFileLine, CountsDropsAndMissingCounts) {
  v1::CaptureStats none;
  EXPECT_EQ(FormatProbeCaptureLine("p.pcapng", 12, none),
            "12 packets captured to p.pcapng, 0 dropped\n");
  v1::CaptureStats some;
  some.set_kernel_dropped(1);
  some.set_agent_dropped(3);
  EXPECT_EQ(
      FormatProbeCaptureLine("t.pcapng", 1, some),
      "1 packet captured to t.pcapng, 4 dropped (kernel 1, interface 0, agent 3)\n");
  EXPECT_EQ(FormatProbeCaptureLine("t.pcapng", 4, std::nullopt),
            "4 packets captured to t.pcapng (the agent's counts did not arrive)\n");
}

TEST(ProbeCaptureFileErrors, PacketsBeforeTheHeaderAreRefused) {
  FILE* null = fopen("/dev/null", "we");
  ASSERT_NE(null, nullptr);
  ProbeCaptureFile file(null, "a", "", "netprobe");
  v1::ProbeCaptureEvent packets;
  AddPacket(&packets, absl::Now(), EchoFrame(false, 1), "x");
  EXPECT_THAT(file.Add(packets, absl::Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("header")));
  EXPECT_THAT(file.End(absl::Now()), IsOk());  // nothing to end
  fclose(null);
}

template <typename Request>
absl::StatusOr<Request> Build(std::vector<OptionSpec> (*specs)(),
                              absl::StatusOr<Request> (*build)(const ParsedOptions&),
                              const std::vector<std::string>& args) {
  auto parsed = OptionParser(specs()).Parse(args);
  if (!parsed.ok()) return parsed.status();
  return build(*parsed);
}

TEST(ProbeCaptureFileFlags, SetTheRequestsCaptureOnEveryProbeCommand) {
  auto ping = Build(PingOptions, BuildPingRequest,
                    {"--capture", "p.pcapng", "--capture-snaplen", "96",
                     "--capture-max-packets", "10", "198.18.0.1"});
  ASSERT_THAT(ping, IsOk());
  ASSERT_TRUE(ping->has_capture());
  EXPECT_EQ(ping->capture().snaplen(), 96u);
  EXPECT_EQ(ping->capture().max_packets(), 10u);
  auto plain = Build(PingOptions, BuildPingRequest, {"198.18.0.1"});
  ASSERT_THAT(plain, IsOk());
  EXPECT_FALSE(plain->has_capture());
  auto defaults = Build(PingOptions, BuildPingRequest, {"--capture", "p", "198.18.0.1"});
  ASSERT_THAT(defaults, IsOk());
  ASSERT_TRUE(defaults->has_capture());
  EXPECT_FALSE(defaults->capture().has_snaplen());  // the agent's default
  EXPECT_EQ(defaults->capture().max_packets(), 0u);

  auto tcp = Build(TcpOptions, BuildTcpRequest, {"--capture", "t", "198.18.0.1:80"});
  ASSERT_THAT(tcp, IsOk());
  EXPECT_TRUE(tcp->has_capture());
  auto udp = Build(UdpOptions, BuildUdpEchoRequest, {"--capture", "u", "198.18.0.1:7"});
  ASSERT_THAT(udp, IsOk());
  EXPECT_TRUE(udp->has_capture());
  auto trace =
      Build(TracerouteOptions, BuildTracerouteRequest, {"--capture", "r", "198.18.0.1"});
  ASSERT_THAT(trace, IsOk());
  EXPECT_TRUE(trace->has_capture());
  auto throughput =
      Build(ThroughputOptions, BuildThroughputRequest, {"--capture", "t", "198.18.0.1"});
  ASSERT_THAT(throughput, IsOk());
  EXPECT_TRUE(throughput->has_capture());
}

TEST(ProbeCaptureFileFlags, BadValuesNameTheFlag) {
  auto build = [](const std::vector<std::string>& args) {
    return Build(PingOptions, BuildPingRequest, args);
  };
  EXPECT_THAT(build({"--capture", "-", "198.18.0.1"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--capture -: stdout carries the probe's text")));
  EXPECT_THAT(build({"--capture-snaplen", "96", "198.18.0.1"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--capture-snaplen: only with --capture FILE")));
  EXPECT_THAT(build({"--capture-max-packets", "9", "198.18.0.1"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--capture-max-packets: only with --capture FILE")));
  EXPECT_THAT(build({"--capture", "p", "--capture-snaplen", "0", "198.18.0.1"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("capture-snaplen")));
  EXPECT_THAT(build({"--capture", "p", "--capture-snaplen", "262145", "198.18.0.1"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("capture-snaplen")));
  EXPECT_THAT(
      build({"--capture", "p", "--capture-max-packets", "1000001", "198.18.0.1"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("capture-max-packets")));
}

TEST(ProbeCaptureFileFlags, ManyAgentsNeedAgentInTheFileName) {
  auto one_file = OptionParser(PingOptions()).Parse({"--capture", "p.pcapng", "h"});
  ASSERT_THAT(one_file, IsOk());
  const absl::Status refused = CheckFanoutOptions("ping", *one_file);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("ping --capture p.pcapng: with many agents")));
  EXPECT_THAT(refused.message(), HasSubstr("--capture 'ping-{agent}.pcapng'"));
  auto per_agent =
      OptionParser(TcpOptions()).Parse({"--capture", "t-{agent}.pcapng", "h:1"});
  ASSERT_THAT(per_agent, IsOk());
  EXPECT_THAT(CheckFanoutOptions("tcp", *per_agent), IsOk());
  EXPECT_EQ(ExpandAgentPlaceholder("t-{agent}.pcapng", "edge1"), "t-edge1.pcapng");
}

TEST_F(ProbeCaptureFileTest, AnUnwritableFileIsRefusedBeforeTheCall) {
  CommandContext ctx =
      PingContext({"--capture", dir_ + "/no/such/dir/p.pcapng", "198.18.0.1"});
  ProbeCapture capture;
  EXPECT_THAT(capture.Open(ctx, "ping"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(absl::StrCat("--capture ", dir_,
                                              "/no/such/dir/p.pcapng: No such file"))));
  EXPECT_FALSE(capture.active());
}

TEST_F(ProbeCaptureFileTest, RefusedCallLeavesNoFileAndAnOldFileUntouched) {
  const grpc::Status refused(grpc::StatusCode::FAILED_PRECONDITION,
                             "capture needs CAP_NET_RAW");
  {
    CommandContext ctx = PingContext({"--capture", path_, "198.18.0.1"});
    ProbeCapture capture;
    ASSERT_THAT(capture.Open(ctx, "ping"), IsOk());
    EXPECT_TRUE(std::filesystem::exists(path_));
    EXPECT_EQ(capture.Finish(ctx, refused, /*interrupted=*/false), 0);
    EXPECT_FALSE(std::filesystem::exists(path_)) << "an empty file stayed behind";
    EXPECT_EQ(err(), "");  // the command reports the agent's refusal
  }
  {
    std::ofstream(path_) << "an older capture";
    CommandContext ctx = PingContext({"--capture", path_, "198.18.0.1"});
    ProbeCapture capture;
    ASSERT_THAT(capture.Open(ctx, "ping"), IsOk());
    EXPECT_EQ(capture.Finish(ctx, refused, /*interrupted=*/false), 0);
    std::ifstream in(path_);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "an older capture");
  }
}

TEST_F(ProbeCaptureFileTest, ACallWithoutCaptureIsAnAgentErrorAndLeavesNoFile) {
  CommandContext ctx = PingContext({"--capture", path_, "198.18.0.1"});
  ProbeCapture capture;
  ASSERT_THAT(capture.Open(ctx, "ping"), IsOk());
  EXPECT_EQ(capture.Finish(ctx, grpc::Status::OK, /*interrupted=*/false),
            kExitAgentError);
  EXPECT_THAT(err(), HasSubstr(absl::StrCat("netprobe ping: --capture ", path_,
                                            ": the agent sent no capture")));
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(ProbeCaptureFileTest, AFileReplacedOnceTheCaptureStartsWithTheClosingLine) {
  std::ofstream(path_) << "an older and longer capture than the new one will be......";
  CommandContext ctx = PingContext({"--capture", path_, "198.18.0.1"});
  std::optional<ProbeCapture> capture;
  capture.emplace();
  ASSERT_THAT(capture->Open(ctx, "ping"), IsOk());
  capture->Add(Header("icmp"));
  v1::ProbeCaptureEvent packets;
  AddPacket(&packets, absl::Now(), EchoFrame(false, 1), "ping seq=1 request");
  capture->Add(packets);
  capture->Add(Stats(1, 0, 0, 0, 1));
  EXPECT_FALSE(capture->failed());
  EXPECT_EQ(capture->Finish(ctx, grpc::Status::OK, false), 0);
  EXPECT_EQ(err(), "") << "the closing line comes last, when the run ends";
  capture.reset();
  EXPECT_EQ(err(), absl::StrCat("1 packet captured to ", path_, ", 0 dropped\n"));
  EXPECT_THAT(Lines({"/usr/bin/tshark", "-r", path_, "-T", "fields", "-e",
                     "frame.interface_name", "-e", "frame.comment"}),
              ElementsAre("edge1/any\tping seq=1 request"));
}

TEST_F(ProbeCaptureFileTest, AWriteErrorIsReportedWithItsExitCode) {
  CommandContext ctx = PingContext({"--capture", "/dev/full", "198.18.0.1"});
  ProbeCapture capture;
  ASSERT_THAT(capture.Open(ctx, "ping"), IsOk());
  capture.Add(Header("icmp"));
  v1::ProbeCaptureEvent packets;
  AddPacket(&packets, absl::Now(), EchoFrame(false, 1), "ping seq=1 request");
  capture.Add(packets);
  EXPECT_TRUE(capture.failed());
  EXPECT_EQ(capture.Finish(ctx, grpc::Status::OK, false), kExitProbeFailed);
  EXPECT_THAT(err(), HasSubstr("netprobe ping: --capture /dev/full: writing failed: No "
                               "space left on device"));
  EXPECT_TRUE(std::filesystem::exists("/dev/full"));  // never removed
}

TEST(ProbeCaptureFileJson, CapturedPacketsAreLeftOutHeaderAndStatsShown) {
  v1::PingEvent event;
  EXPECT_TRUE(ShownAsJson(event));
  *event.mutable_capture() = Header("icmp");
  EXPECT_TRUE(ShownAsJson(event));
  event.mutable_capture()->mutable_packets();
  EXPECT_FALSE(ShownAsJson(event));
  event.mutable_capture()->mutable_stats();
  EXPECT_TRUE(ShownAsJson(event));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
