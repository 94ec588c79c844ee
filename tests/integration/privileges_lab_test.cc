// Privileges end to end: the real agent started as root in a lab host with
// `--user nobody` ends up, in every thread, as nobody with only CAP_NET_RAW
// and CAP_NET_ADMIN (plus CAP_NET_BIND_SERVICE for a low port) and no new
// privileges, as /proc shows; every probe still works through the real
// client. Also: the systemd model (started as nobody with ambient
// capabilities, no --user), an agent without CAP_NET_RAW, and the errors of
// --user.
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "netprobe/v1/agent.pb.h"
#include "netprobe/v1/capture.pb.h"
#include "netprobe/v1/sockets.pb.h"
#include "tests/lab/lab.h"
#include "tests/test_support/json_events.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kNetRawAdmin = (1ull << CAP_NET_RAW) | (1ull << CAP_NET_ADMIN);
constexpr uint64_t kBindService = 1ull << CAP_NET_BIND_SERVICE;

// Services in a lab host on one kernel-chosen port: a TCP listener that
// accepts and closes, and a UDP socket that echoes every datagram (unicast
// or broadcast) back. Prints the port; serves until killed or 60 s idle.
constexpr char kPeerServices[] = R"(
import socket, threading
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.bind(('', 0))
t.listen(64)
port = t.getsockname()[1]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('', port))
def accept():
    while True:
        c, _ = t.accept()
        c.close()
threading.Thread(target=accept, daemon=True).start()
print(port, flush=True)
u.settimeout(60)
while True:
    data, peer = u.recvfrom(65535)
    u.sendto(data, peer)
)";

// A TCP listener owned by root, in the agent's host: prints its port and
// waits to be killed (at most 60 s).
constexpr char kRootListener[] = R"(
import socket, time
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.bind(('127.0.0.1', 0))
t.listen(1)
print(t.getsockname()[1], flush=True)
time.sleep(60)
)";

// "Key" -> "value" of a /proc/.../status file.
std::map<std::string, std::string> ProcStatus(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    out[line.substr(0, colon)] =
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return out;
}

uint64_t Hex(const std::string& text) {
  uint64_t value = ~0ull;
  EXPECT_TRUE(absl::SimpleHexAtoi(text, &value)) << text;
  return value;
}

// The agent's threads' status files (/proc/PID/task/TID/status).
std::vector<std::string> ThreadStatusFiles(pid_t pid) {
  std::vector<std::string> out;
  const std::string tasks = absl::StrCat("/proc/", pid, "/task");
  DIR* dir = opendir(tasks.c_str());
  if (dir == nullptr) return out;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    out.push_back(absl::StrCat(tasks, "/", entry->d_name, "/status"));
  }
  closedir(dir);
  return out;
}

struct Dropped {
  uid_t uid;
  gid_t gid;
  uint64_t caps;     // CapPrm and CapEff
  uint64_t bound;    // CapBnd
  uint64_t ambient;  // CapAmb
  int no_new_privs;
};

// Every thread of `pid` (and the process) carries exactly `want`; there are
// several (the event loop, the resolver, gRPC's), so the check means more
// than the main thread's.
void ExpectEveryThread(pid_t pid, const Dropped& want) {
  std::vector<std::string> files = ThreadStatusFiles(pid);
  EXPECT_GE(files.size(), 3u);
  files.push_back(absl::StrCat("/proc/", pid, "/status"));
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    auto status = ProcStatus(file);
    const std::string uid = absl::StrCat(want.uid), gid = absl::StrCat(want.gid);
    EXPECT_EQ(status["Uid"], absl::StrCat(uid, "\t", uid, "\t", uid, "\t", uid));
    EXPECT_EQ(status["Gid"], absl::StrCat(gid, "\t", gid, "\t", gid, "\t", gid));
    EXPECT_EQ(Hex(status["CapPrm"]), want.caps) << status["CapPrm"];
    EXPECT_EQ(Hex(status["CapEff"]), want.caps) << status["CapEff"];
    EXPECT_EQ(Hex(status["CapInh"]), 0u) << status["CapInh"];
    EXPECT_EQ(Hex(status["CapBnd"]), want.bound) << status["CapBnd"];
    EXPECT_EQ(Hex(status["CapAmb"]), want.ambient) << status["CapAmb"];
    EXPECT_EQ(status["NoNewPrivs"], absl::StrCat(want.no_new_privs));
  }
}

class PrivilegesLabTest : public ::testing::Test {
 protected:
  static constexpr int kAgent = 0, kPeer = 1;

  void SetUp() override {
    auto lab = Lab::Create(2);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    const passwd* pw = getpwnam("nobody");
    ASSERT_NE(pw, nullptr);
    nobody_uid_ = pw->pw_uid;
    nobody_gid_ = pw->pw_gid;
    // The agent creates its unix socket in the lab's directory as nobody.
    ASSERT_EQ(chown(lab_->dir().c_str(), nobody_uid_, nobody_gid_), 0);
    // Nobody in the agent's host may use ICMP datagram sockets, so a ping
    // that works there used a raw socket.
    auto sysctl = lab_->Exec(kAgent, {"sysctl", "-qw", "net.ipv4.ping_group_range=1 0"});
    ASSERT_THAT(sysctl, IsOk());
    ASSERT_EQ(sysctl->exit_code, 0) << sysctl->err;
  }

  // The port of a python helper that prints it first.
  absl::StatusOr<std::string> Helper(int host, const char* script) {
    auto process = lab_->Spawn(host, {kPython, "-c", script});
    if (!process.ok()) return process.status();
    helpers_.push_back(std::make_unique<Process>(*std::move(process)));
    auto line = helpers_.back()->WaitForStdout("", absl::Seconds(10));
    if (!line.ok()) return line.status();
    return std::string(absl::StripAsciiWhitespace(*line));
  }

  // Runs the client and expects `exit_code`; returns stdout.
  std::string Run(const LabAgent& agent, const std::vector<std::string>& args,
                  int exit_code = 0, std::string* err = nullptr) {
    auto result = agent.Client(args);
    EXPECT_THAT(result, IsOk());
    if (!result.ok()) return "";
    EXPECT_EQ(result->exit_code, exit_code) << result->out << result->err;
    if (err != nullptr) *err = result->err;
    return result->out;
  }

  std::unique_ptr<Lab> lab_;
  uid_t nobody_uid_ = 0;
  gid_t nobody_gid_ = 0;
  std::vector<std::unique_ptr<Process>> helpers_;
};

TEST_F(PrivilegesLabTest, DroppedAgentRunsEveryProbe) {
  auto peer_port = Helper(kPeer, kPeerServices);
  ASSERT_THAT(peer_port, IsOk());
  auto root_port = Helper(kAgent, kRootListener);
  ASSERT_THAT(root_port, IsOk());
  // Capture and Broadcast are off unless enabled (policy).
  auto agent = LabAgent::Start(*lab_, kAgent,
                               {"--user", "nobody", "--listen", "127.0.0.1:0",
                                "--insecure", "--enable-probe", "Capture,Broadcast"});
  ASSERT_THAT(agent, IsOk());
  const pid_t pid = agent->process().pid();
  const Dropped dropped{nobody_uid_, nobody_gid_, kNetRawAdmin, kNetRawAdmin, 0, 1};
  ExpectEveryThread(pid, dropped);
  EXPECT_THAT(agent->process().err(), HasSubstr("running as user nobody"));

  auto info_json = agent->Client({"--json", "info"});
  ASSERT_THAT(info_json, IsOk());
  v1::AgentInfo info;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(info_json->out, &info).ok())
      << info_json->out;
  EXPECT_EQ(info.uid(), nobody_uid_);
  EXPECT_EQ(info.user(), "nobody");
  EXPECT_THAT(info.capabilities(), ElementsAre("CAP_NET_RAW", "CAP_NET_ADMIN"));
  EXPECT_THAT(Run(*agent, {"info"}),
              HasSubstr(absl::StrCat("uid ", nobody_uid_, " (nobody)")));

  const std::string peer = lab_->host(kPeer).ipv4;
  const std::string target = absl::StrCat(peer, ":", *peer_port);
  EXPECT_THAT(Run(*agent, {"ping", "-c", "3", "-i", "10ms", peer}),
              HasSubstr("3 packets transmitted, 3 received"));
  EXPECT_THAT(Run(*agent, {"tcp", "-c", "2", "-i", "10ms", target}),
              HasSubstr("2 attempts, 2 connected"));
  EXPECT_THAT(Run(*agent, {"udp", "-c", "3", "-i", "10ms", target}),
              HasSubstr("3 datagrams sent, 3 received"));
  EXPECT_THAT(
      Run(*agent, {"broadcast", "-I", "eth0", "--port", *peer_port, "--window", "300ms"}),
      HasSubstr(absl::StrCat("from ", target)));
  EXPECT_THAT(Run(*agent, {"mcast", "-I", "eth0", "--send", "--loopback",
                           "--send-interval", "10ms", "-c", "2", "239.77.0.9:5009"}),
              HasSubstr("2 datagrams received"));

  // Capture: a ping from the peer, seen on the agent's eth0.
  auto pinger = lab_->Spawn(
      kPeer, {"ping", "-q", "-c", "100", "-i", "0.05", lab_->host(kAgent).ipv4});
  ASSERT_THAT(pinger, IsOk());
  const std::string capture =
      Run(*agent, {"--json", "capture", "-i", "eth0", "-c", "3", "icmp"});
  size_t packets = 0;
  for (const auto& event : JsonEvents<v1::CaptureEvent>(capture)) {
    packets += event.packets().packets_size();
  }
  EXPECT_EQ(packets, 3u);

  // Sockets: the agent's own listener shows its owner (the agent reads its
  // own /proc/PID/fd); root's listener does not, as with `ss -p` run by an
  // unprivileged user.
  std::string agent_port;
  for (const std::string& bound : agent->bound()) {
    if (bound.rfind("127.0.0.1:", 0) == 0) agent_port = bound.substr(10);
  }
  ASSERT_FALSE(agent_port.empty());
  auto sockets = agent->Client({"--json", "sockets", "-t", "-a", "-p"});
  ASSERT_THAT(sockets, IsOk());
  ASSERT_EQ(sockets->exit_code, 0) << sockets->err;
  bool own = false, roots = false;
  for (const auto& event : JsonEvents<v1::SocketsEvent>(sockets->out)) {
    for (const v1::SocketEntry& s : event.snapshot().sockets()) {
      if (s.state() != "LISTEN") continue;
      if (absl::StrCat(s.local().port()) == agent_port) {
        own = true;
        ASSERT_EQ(s.processes_size(), 1);
        EXPECT_EQ(s.processes(0).pid(), static_cast<uint32_t>(pid));
        EXPECT_EQ(s.processes(0).name(), "netprobe-agent");
        EXPECT_EQ(s.uid(), nobody_uid_);
      } else if (absl::StrCat(s.local().port()) == *root_port) {
        roots = true;
        EXPECT_EQ(s.processes_size(), 0);
        EXPECT_EQ(s.uid(), 0u);
      }
    }
  }
  EXPECT_TRUE(own);
  EXPECT_TRUE(roots);

  // Threads gRPC started for the calls above inherited the same.
  ExpectEveryThread(pid, dropped);
}

// A port below 1024 (a UDP echo responder on 7, a listener on 79) keeps
// CAP_NET_BIND_SERVICE too; both are bound after the drop.
TEST_F(PrivilegesLabTest, LowPortKeepsBindService) {
  auto agent = LabAgent::Start(
      *lab_, kAgent,
      {"--user", "nobody", "--udp-echo", "7", "--listen", "127.0.0.1:79", "--insecure"});
  ASSERT_THAT(agent, IsOk());
  const uint64_t caps = kNetRawAdmin | kBindService;
  ExpectEveryThread(agent->process().pid(), {nobody_uid_, nobody_gid_, caps, caps, 0, 1});
  EXPECT_THAT(agent->bound(), ::testing::Contains("127.0.0.1:79"));
  EXPECT_THAT(Run(*agent, {"udp", "-c", "3", "-i", "10ms",
                           absl::StrCat(lab_->host(kAgent).ipv4, ":7")}),
              HasSubstr("3 datagrams sent, 3 received"));
  EXPECT_THAT(Run(*agent, {"tcp", "-c", "1", "127.0.0.1:79"}),
              HasSubstr("1 attempts, 1 connected"));
}

// Tokens (and TLS) create gRPC credentials, which start gRPC's threads: they
// must come after the drop, which needs a single thread, and still work.
TEST_F(PrivilegesLabTest, TokensWorkAfterTheDrop) {
  const std::string tokens = absl::StrCat(lab_->dir(), "/tokens");
  std::ofstream(tokens) << "ci 0123456789abcdef0123456789abcdef\n";
  ASSERT_EQ(chmod(tokens.c_str(), 0600), 0);
  auto agent = LabAgent::Start(
      *lab_, kAgent,
      {"--user", "nobody", "--listen", "127.0.0.1:0", "--token-file", tokens});
  ASSERT_THAT(agent, IsOk());
  ExpectEveryThread(agent->process().pid(),
                    {nobody_uid_, nobody_gid_, kNetRawAdmin, kNetRawAdmin, 0, 1});
  std::string tcp;
  for (const std::string& b : agent->bound()) {
    if (!absl::StartsWith(b, "unix:")) tcp = b;
  }
  ASSERT_FALSE(tcp.empty());
  // The client in the agent's namespace (the listener is its loopback); its
  // token file holds the token alone.
  const std::string token = absl::StrCat(lab_->dir(), "/token");
  std::ofstream(token) << "0123456789abcdef0123456789abcdef\n";
  ASSERT_EQ(chmod(token.c_str(), 0600), 0);
  auto info = lab_->Exec(
      kAgent, {NETPROBE_CLIENT_BIN, "--agent", tcp, "--token-file", token, "info"});
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->exit_code, 0) << info->err;
  EXPECT_THAT(info->out, HasSubstr("uid 65534"));
  auto refused = lab_->Exec(kAgent, {NETPROBE_CLIENT_BIN, "--agent", tcp, "info"});
  ASSERT_THAT(refused, IsOk());
  EXPECT_EQ(refused->exit_code, 5) << refused->err;
}

// The default socket directory is the agent's own: a root-owned one, with a
// stale socket left by an earlier run as root, is handed to the user, who
// replaces the socket. A private /run keeps this away from the host's.
TEST_F(PrivilegesLabTest, DefaultSocketDirectoryFollowsTheUser) {
  const std::string script =
      "mount -t tmpfs tmpfs /run && mkdir -m 0755 /run/netprobe && "
      "/usr/bin/python3 -c \"import socket; "
      "socket.socket(socket.AF_UNIX).bind('/run/netprobe/agent.sock')\" && "
      "exec /bin/sh \"$@\"";
  auto agent = LabAgent::Start(
      *lab_, kAgent, {"--user", "nobody", "--listen", "unix:/run/netprobe/agent.sock"},
      {"unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh"});
  ASSERT_THAT(agent, IsOk());
  const std::string root = absl::StrCat("/proc/", agent->process().pid(), "/root");
  struct stat st;
  ASSERT_EQ(stat((root + "/run/netprobe").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody_uid_);
  ASSERT_EQ(stat((root + "/run/netprobe/agent.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_uid, nobody_uid_);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  auto info =
      RunCommand({NETPROBE_CLIENT_BIN, "--agent",
                  absl::StrCat("unix:", root, "/run/netprobe/agent.sock"), "info"});
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->exit_code, 0) << info->err;
  EXPECT_THAT(info->out, HasSubstr("(nobody)"));
}

// The systemd unit's model: started as nobody with CAP_NET_RAW and
// CAP_NET_ADMIN ambient (AmbientCapabilities=), no --user. The capabilities
// are effective in every thread and raw sockets work.
TEST_F(PrivilegesLabTest, AmbientCapabilitiesWithoutUser) {
  auto agent =
      LabAgent::Start(*lab_, kAgent, {"--enable-probe", "Capture"},
                      {"capsh", "--user=nobody", "--inh=cap_net_raw,cap_net_admin",
                       "--addamb=cap_net_raw,cap_net_admin", "--"});
  ASSERT_THAT(agent, IsOk());
  const pid_t pid = agent->process().pid();
  // capsh leaves the bounding set full and no_new_privs off (systemd sets
  // both from the unit); the agent leaves what it was given.
  const uint64_t full = Hex(ProcStatus("/proc/self/status")["CapBnd"]);
  std::vector<std::string> files = ThreadStatusFiles(pid);
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    auto status = ProcStatus(file);
    const std::string uid = absl::StrCat(nobody_uid_);
    EXPECT_EQ(status["Uid"], absl::StrCat(uid, "\t", uid, "\t", uid, "\t", uid));
    EXPECT_EQ(Hex(status["CapEff"]), kNetRawAdmin);
    EXPECT_EQ(Hex(status["CapPrm"]), kNetRawAdmin);
    EXPECT_EQ(Hex(status["CapAmb"]), kNetRawAdmin);
    EXPECT_EQ(Hex(status["CapBnd"]), full);
  }
  EXPECT_THAT(Run(*agent, {"ping", "-c", "2", "-i", "10ms", lab_->host(kPeer).ipv4}),
              HasSubstr("2 packets transmitted, 2 received"));
  auto pinger = lab_->Spawn(
      kPeer, {"ping", "-q", "-c", "100", "-i", "0.05", lab_->host(kAgent).ipv4});
  ASSERT_THAT(pinger, IsOk());
  std::string err;
  Run(*agent, {"capture", "-i", "eth0", "-c", "1", "icmp"}, 0, &err);
  EXPECT_THAT(err, HasSubstr("1 packet captured"));
}

// Without CAP_NET_RAW, capture and traceroute -T are FAILED_PRECONDITION
// naming it (the CLI's exit code 4), and ping falls back to ICMP datagram sockets where
// allowed (ping_lab_test covers that).
TEST_F(PrivilegesLabTest, WithoutCapNetRawCaptureFailsNamingIt) {
  auto agent =
      LabAgent::Start(*lab_, kAgent, {"--user", "nobody", "--enable-probe", "Capture"},
                      {"capsh", "--drop=cap_net_raw", "--"});
  ASSERT_THAT(agent, IsOk());
  ExpectEveryThread(
      agent->process().pid(),
      {nobody_uid_, nobody_gid_, 1ull << CAP_NET_ADMIN, 1ull << CAP_NET_ADMIN, 0, 1});
  std::string err;
  Run(*agent, {"capture", "-i", "eth0", "-c", "1"}, 4, &err);
  EXPECT_THAT(err, HasSubstr("needs CAP_NET_RAW, which the agent lacks"));
  auto line = agent->process().WaitForStderr("Probes/Capture", absl::Seconds(5));
  ASSERT_THAT(line, IsOk());
  EXPECT_THAT(*line, HasSubstr("code=FAILED_PRECONDITION"));
  // And ping says why it cannot run (no datagram sockets in this host).
  Run(*agent, {"ping", "-c", "1", lab_->host(kPeer).ipv4}, 4, &err);
  EXPECT_THAT(err, HasSubstr("ping needs CAP_NET_RAW"));
  // traceroute -T sends its SYNs from a raw TCP socket: the same.
  Run(*agent, {"traceroute", "-n", "-T", "-w", "1", lab_->host(kPeer).ipv4}, 4, &err);
  EXPECT_THAT(err, HasSubstr("TCP SYN probes need CAP_NET_RAW"));
}

TEST_F(PrivilegesLabTest, UserErrors) {
  const std::string socket = absl::StrCat("unix:", lab_->dir(), "/errors.sock");
  auto unknown =
      RunCommand({NETPROBE_AGENT_BIN, "--listen", socket, "--user", "no-such-user-np"});
  ASSERT_THAT(unknown, IsOk());
  EXPECT_EQ(unknown->exit_code, 2);
  EXPECT_THAT(unknown->err, HasSubstr("no user 'no-such-user-np'"));

  // Started as nobody, it cannot become anyone else.
  auto other = RunCommand({"capsh", "--user=nobody", "--", "-c",
                           absl::StrCat("exec ", NETPROBE_AGENT_BIN, " --listen ", socket,
                                        " --user daemon")});
  ASSERT_THAT(other, IsOk());
  EXPECT_EQ(other->exit_code, 1);
  EXPECT_THAT(other->err, HasSubstr("not root, so it cannot switch to daemon"));

  // A socket directory the user cannot write to is named before anything
  // listens.
  const std::string closed = absl::StrCat(lab_->dir(), "/closed");
  ASSERT_EQ(mkdir(closed.c_str(), 0755), 0);
  auto unwritable =
      RunCommand({NETPROBE_AGENT_BIN, "--listen",
                  absl::StrCat("unix:", closed, "/agent.sock"), "--user", "nobody"});
  ASSERT_THAT(unwritable, IsOk());
  EXPECT_EQ(unwritable->exit_code, 1);
  EXPECT_THAT(unwritable->err,
              HasSubstr(absl::StrCat("unix socket directory ", closed,
                                     " is not writable by user nobody")));
}

}  // namespace
}  // namespace netprobe::testing
