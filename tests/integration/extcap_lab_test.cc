// netprobe-extcap end to end with Debian's tshark 4.0 (issue 22): tshark finds
// the program in a personal extcap folder under a temporary HOME, lists the
// lab agent's interfaces through it, captures what another lab host sends,
// and stops it cleanly; an unreachable agent fails at once with a message.
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "tests/lab/lab.h"
#include "tests/test_support/proc_self.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTshark[] = "/usr/bin/tshark";

// Receives and discards UDP on a kernel-chosen port (no ICMP port
// unreachable for the sender); prints the port; runs until killed (120 s at
// most).
constexpr char kUdpSink[] = R"(
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 0))
print(s.getsockname()[1], flush=True)
s.settimeout(1)
end = time.time() + 120
while time.time() < end:
    try:
        s.recv(65536)
    except socket.timeout:
        pass
)";

// argv: host port. One datagram every 5 ms until killed (120 s at most):
// whenever the capture starts, its first 20 packets are on their way.
constexpr char kUdpStream[] = R"(
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + 120
i = 0
while time.time() < end:
    s.sendto(b'extcap %d' % i, (host, port))
    i += 1
    time.sleep(0.005)
)";

// Processes running the extcap binary (their /proc/PID/exe).
int ExtcapProcesses() {
  const std::filesystem::path bin = std::filesystem::canonical(NETPROBE_EXTCAP_BIN);
  int n = 0;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return -1;
  while (dirent* e = ::readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    std::error_code ec;
    const auto exe =
        std::filesystem::read_symlink(absl::StrCat("/proc/", pid, "/exe"), ec);
    if (!ec && exe == bin) ++n;
  }
  ::closedir(proc);
  return n;
}

class ExtcapLabTest : public ::testing::Test {
 protected:
  static constexpr int kAgent = 0, kSender = 1;

  void SetUp() override {
    auto lab = Lab::Create(2);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    auto agent = LabAgent::Start(*lab_, kAgent, {"--enable-probe", "Capture"});
    ASSERT_THAT(agent, IsOk());
    agent_ = std::make_unique<LabAgent>(*std::move(agent));
    // Wireshark 4.0's personal extcap folder: $XDG_CONFIG_HOME/wireshark/extcap
    // (else ~/.config/...). The program is linked in, nothing system-wide.
    home_ = absl::StrCat(lab_->dir(), "/home");
    const std::string folder = absl::StrCat(home_, "/.config/wireshark/extcap");
    std::filesystem::create_directories(folder);
    std::filesystem::create_symlink(NETPROBE_EXTCAP_BIN,
                                    absl::StrCat(folder, "/netprobe-extcap"));
    WriteConfig(absl::StrCat("# the lab\nlab=", agent_->address(), "\n"));
  }

  void WriteConfig(const std::string& text) {
    config_ = absl::StrCat(lab_->dir(), "/extcap-agents");
    std::ofstream(config_) << text;
  }

  // `env HOME=... NETPROBE_EXTCAP_CONFIG=... ARGV`, as a desktop's Wireshark
  // would run with that user's config.
  std::vector<std::string> WithEnv(std::vector<std::string> argv) const {
    std::vector<std::string> out = {"/usr/bin/env",
                                    "-u",
                                    "XDG_CONFIG_HOME",
                                    "-u",
                                    "NETPROBE_AGENT",
                                    absl::StrCat("HOME=", home_),
                                    absl::StrCat("NETPROBE_EXTCAP_CONFIG=", config_)};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
  }

  int StartSink() {
    auto sink = lab_->Spawn(kAgent, {kPython, "-c", kUdpSink});
    EXPECT_THAT(sink, IsOk());
    if (!sink.ok()) return 0;
    sink_ = std::make_unique<Process>(*std::move(sink));
    auto port = sink_->WaitForStdout("", absl::Seconds(10));
    EXPECT_THAT(port, IsOk());
    int n = 0;
    if (port.ok()) {
      EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(*port), &n)) << *port;
    }
    return n;
  }

  // Packet sockets open in the agent's namespace (/proc/net/packet lines
  // after the header): the agent's libpcap handle while it captures.
  int AgentPacketSockets() const {
    auto cat = lab_->Exec(kAgent, {"cat", "/proc/net/packet"});
    if (!cat.ok() || cat->exit_code != 0) return -1;
    return static_cast<int>(
               std::vector<std::string>(absl::StrSplit(cat->out, '\n', absl::SkipEmpty()))
                   .size()) -
           1;
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<LabAgent> agent_;
  std::unique_ptr<Process> sink_;
  std::string home_, config_;
};

TEST_F(ExtcapLabTest, TsharkListsTheAgentAndCapturesWhatAHostSends) {
  auto listed = RunCommand(WithEnv({kTshark, "-D"}), absl::Seconds(20));
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->exit_code, 0) << listed->err;
  EXPECT_THAT(listed->out, HasSubstr("netprobe-lab-eth0 (netprobe lab: eth0)"));
  EXPECT_THAT(listed->out, HasSubstr("netprobe-lab-any (netprobe lab: any)"));
  EXPECT_THAT(listed->out, HasSubstr("netprobe-lab-lo (netprobe lab: lo)"));

  const int port = StartSink();
  ASSERT_NE(port, 0);
  auto sender = lab_->Spawn(
      kSender, {kPython, "-c", kUdpStream, lab_->host(kAgent).ipv4, absl::StrCat(port)});
  ASSERT_THAT(sender, IsOk());
  const std::string file = absl::StrCat(lab_->dir(), "/extcap.pcapng");
  auto captured = RunCommand(WithEnv({kTshark, "-i", "netprobe-lab-eth0", "-c", "20",
                                      "-f", absl::StrCat("udp port ", port), "-w", file}),
                             absl::Seconds(30));
  ASSERT_THAT(captured, IsOk());
  ASSERT_EQ(captured->exit_code, 0) << captured->err;

  // tshark's own reading: 20 datagrams from the sender to the sink, on the
  // interface the extcap named "lab/eth0".
  auto read = RunCommand({kTshark, "-r", file, "-T", "fields", "-e", "ip.src", "-e",
                          "ip.dst", "-e", "udp.dstport", "-e", "frame.interface_name"});
  ASSERT_THAT(read, IsOk());
  ASSERT_EQ(read->exit_code, 0) << read->err;
  const std::vector<std::string> lines =
      absl::StrSplit(read->out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 20u) << read->out;
  for (const std::string& line : lines) {
    EXPECT_EQ(line, absl::StrCat(lab_->host(kSender).ipv4, "\t", lab_->host(kAgent).ipv4,
                                 "\t", port, "\tlab/eth0"));
  }
  // The extcap ends with the fifo's reader: nothing of it is left running.
  EXPECT_TRUE(WaitFor([] { return ExtcapProcesses() == 0; }, absl::Seconds(5)));
}

TEST_F(ExtcapLabTest, DurationStopsTheCaptureAndTheAgentClosesIt) {
  const int before = AgentPacketSockets();
  ASSERT_GE(before, 0);
  const std::string file = absl::StrCat(lab_->dir(), "/duration.pcapng");
  const absl::Time start = absl::Now();
  auto run = RunCommand(
      WithEnv({kTshark, "-i", "netprobe-lab-any", "-a", "duration:2", "-w", file}),
      absl::Seconds(30));
  const absl::Duration took = absl::Now() - start;
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ(run->exit_code, 0) << run->err;
  EXPECT_LT(took, absl::Seconds(6)) << "tshark -a duration:2 took " << took;
  // SIGTERM from tshark ended the extcap, which cancelled the agent's capture:
  // no extcap process left, the agent's packet socket closed.
  EXPECT_EQ(ExtcapProcesses(), 0);
  EXPECT_TRUE(WaitFor([&] { return AgentPacketSockets() == before; }, absl::Seconds(5)))
      << AgentPacketSockets() << " packet sockets, " << before << " before";
  // tshark's dumpcap ends first (it runs the duration) and its fifo closes:
  // the file holds the interface the extcap described.
  auto info = RunCommand({"/usr/bin/capinfos", "-I", file});
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->exit_code, 0) << info->err;
  EXPECT_THAT(info->out, HasSubstr("Name = lab/any"));
}

// Wireshark's stop button: SIGTERM while the fifo is read. The extcap ends
// its stream with the Interface Statistics Block of the agent's counts.
TEST_F(ExtcapLabTest, SigtermEndsTheStreamWithTheAgentsStatistics) {
  const std::string fifo = absl::StrCat(lab_->dir(), "/fifo");
  const std::string file = absl::StrCat(lab_->dir(), "/sigterm.pcapng");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto reader =
      Process::Start({"/bin/sh", "-c", absl::StrCat("exec cat ", fifo, " > ", file)});
  ASSERT_THAT(reader, IsOk());
  auto extcap = Process::Start(
      WithEnv({NETPROBE_EXTCAP_BIN, "--capture", "--extcap-interface",
               "netprobe-lab-eth0", "--fifo", fifo, "--extcap-capture-filter", "icmp"}));
  ASSERT_THAT(extcap, IsOk());
  // The section and interface blocks arrive once the agent captures.
  ASSERT_TRUE(WaitFor(
      [&] {
        std::error_code ec;
        return std::filesystem::file_size(file, ec) > 0 && !ec;
      },
      absl::Seconds(10)))
      << extcap->err();
  auto ping = lab_->Exec(kSender, {"ping", "-n", "-c", "3", "-i", "0.2", "-W", "5",
                                   lab_->host(kAgent).ipv4});
  ASSERT_THAT(ping, IsOk());
  EXPECT_EQ(ping->exit_code, 0) << ping->out;
  extcap->Signal(SIGTERM);
  auto code = extcap->Wait(absl::Seconds(10));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 0) << extcap->err();
  ASSERT_THAT(reader->Wait(absl::Seconds(10)), IsOk());
  auto info = RunCommand({"/usr/bin/capinfos", "-I", file});
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->exit_code, 0) << info->err;
  EXPECT_THAT(info->out, HasSubstr("Number of stat entries = 1"));
  // The pings, on the interface the extcap named.
  auto read = RunCommand({"/usr/bin/tshark", "-r", file, "-T", "fields", "-e",
                          "frame.interface_name", "-e", "icmp.type"});
  ASSERT_THAT(read, IsOk());
  EXPECT_THAT(read->out, HasSubstr("lab/eth0\t8"));
  EXPECT_THAT(read->out, HasSubstr("lab/eth0\t0"));
}

TEST_F(ExtcapLabTest, UnreachableAgentBadFilterAndUnknownInterfaceFailAtOnce) {
  WriteConfig(absl::StrCat("lab=", agent_->address(), "\ngone=unix:", lab_->dir(),
                           "/nobody-here.sock\n"));
  // Listing skips the agent that does not answer, says so, and still lists
  // the other.
  const absl::Time start = absl::Now();
  auto listed = RunCommand(WithEnv({NETPROBE_EXTCAP_BIN, "--extcap-interfaces"}));
  ASSERT_THAT(listed, IsOk());
  EXPECT_EQ(listed->exit_code, 0);
  EXPECT_THAT(listed->out, HasSubstr("{value=netprobe-lab-eth0}"));
  EXPECT_THAT(listed->out, Not(HasSubstr("netprobe-gone")));
  EXPECT_THAT(listed->err, HasSubstr("agent gone"));

  const std::string fifo = absl::StrCat(lab_->dir(), "/never-opened");
  auto gone = RunCommand(WithEnv({NETPROBE_EXTCAP_BIN, "--capture", "--extcap-interface",
                                  "netprobe-gone-eth0", "--fifo", fifo}));
  ASSERT_THAT(gone, IsOk());
  EXPECT_NE(gone->exit_code, 0);
  EXPECT_THAT(gone->err, HasSubstr("unreachable"));

  auto bad_filter = RunCommand(WithEnv(
      {NETPROBE_EXTCAP_BIN, "--capture", "--extcap-interface", "netprobe-lab-eth0",
       "--fifo", fifo, "--extcap-capture-filter", "udp port"}));
  ASSERT_THAT(bad_filter, IsOk());
  EXPECT_NE(bad_filter->exit_code, 0);
  EXPECT_THAT(bad_filter->err, HasSubstr("filter"));

  auto unknown =
      RunCommand(WithEnv({NETPROBE_EXTCAP_BIN, "--capture", "--extcap-interface",
                          "netprobe-elsewhere-eth0", "--fifo", fifo}));
  ASSERT_THAT(unknown, IsOk());
  EXPECT_NE(unknown->exit_code, 0);
  EXPECT_THAT(unknown->err, HasSubstr("unknown interface 'netprobe-elsewhere-eth0'"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));

  // Through tshark: dumpcap, already waiting for the fifo, sees its end (the
  // extcap opens and closes it after the failure), and tshark shows the
  // agent's message instead of waiting for ever.
  auto tshark = RunCommand(
      WithEnv({kTshark, "-i", "netprobe-lab-eth0", "-c", "1", "-f", "udp port"}),
      absl::Seconds(20));
  ASSERT_THAT(tshark, IsOk());
  EXPECT_NE(tshark->exit_code, 0);
  EXPECT_THAT(tshark->err, HasSubstr("does not compile"));
}

}  // namespace
}  // namespace netprobe::testing
