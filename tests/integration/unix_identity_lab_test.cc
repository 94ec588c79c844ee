// Secure defaults and per-user identities, end to end: the real agent in a
// lab host, called on its unix socket by processes of other uids (setpriv)
// and over TCP from another lab host. The defaults open no TCP port and give
// the socket to group `netprobe`; the kernel names every unix caller
// (SO_PEERCRED) in the audit line; policy rules by uid hold; each privileged
// knob is refused without its grant before a packet leaves (tcpdump in the
// target's namespace sees none) and works with it; a TCP caller cannot probe
// the agent's own host unless granted.
#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "tests/lab/lab.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Uids without a user on the host: the agent names them by number.
constexpr uid_t kNoGrants = 4242;       // no rule
constexpr uid_t kInterfaceOnly = 4343;  // rule: grants "interface"
constexpr uid_t kAllGrants = 4444;      // rule: grants "*"
constexpr uid_t kNobody = 65534;
// gRPC's PERMISSION_DENIED, as netprobe-test-call prints it.
constexpr char kDenied[] = "status: 7 ";

class UnixIdentityLabTest : public ::testing::Test {
 protected:
  static constexpr int kAgent = 0, kTarget = 1;

  void SetUp() override {
    auto lab = Lab::Create(2);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    // Other uids must reach the socket and run the call tool: a copy in the
    // lab's directory, opened to everyone (it holds nothing secret).
    ASSERT_EQ(chmod(lab_->dir().c_str(), 0755), 0);
    call_ = absl::StrCat(lab_->dir(), "/netprobe-test-call");
    std::filesystem::copy_file(NETPROBE_TEST_CALL_BIN, call_);
    ASSERT_EQ(chmod(call_.c_str(), 0755), 0);
    const group* users = getgrnam("users");
    ASSERT_NE(users, nullptr) << "Debian's base group 'users' is missing";
    users_gid_ = users->gr_gid;
  }

  void StartAgent(const std::string& config, std::vector<std::string> args = {}) {
    const std::string file =
        absl::StrCat(lab_->dir(), "/agent-", ++configs_, ".textproto");
    std::ofstream(file) << config;
    args.insert(args.end(), {"--config", file, "--unix-socket-group", "users"});
    auto agent = LabAgent::Start(*lab_, kAgent, args);
    ASSERT_THAT(agent, IsOk());
    agent_ = std::make_unique<LabAgent>(*std::move(agent));
  }

  // netprobe-test-call as `uid` (in group users, as the socket is) or root.
  RunResult Call(std::optional<uid_t> uid, const std::string& method,
                 const std::string& request) {
    std::vector<std::string> argv = {call_, agent_->address(), method, request};
    if (uid.has_value()) {
      argv.insert(
          argv.begin(),
          {"setpriv", absl::StrCat("--reuid=", *uid), absl::StrCat("--regid=", *uid),
           *uid == kNobody ? "--clear-groups" : absl::StrCat("--groups=", users_gid_)});
    }
    auto run = RunCommand(argv);
    EXPECT_THAT(run, IsOk());
    return run.ok() ? *run : RunResult{};
  }

  // tcpdump in the target host, writing the agent's IP packets to a file.
  Process CaptureFromAgent(const std::string& file) {
    auto tcpdump = lab_->Spawn(
        kTarget, {kTcpdump, "-n", "-i", "eth0", "--immediate-mode", "-w", file,
                  absl::StrCat("ip and src host ", lab_->host(kAgent).ipv4)});
    EXPECT_THAT(tcpdump, IsOk());
    EXPECT_THAT(tcpdump->WaitForStderr("listening on", absl::Seconds(10)), IsOk());
    return *std::move(tcpdump);
  }

  int PacketsIn(Process& tcpdump, const std::string& file) {
    tcpdump.Signal(SIGINT);
    EXPECT_THAT(tcpdump.Wait(absl::Seconds(10)), IsOk());
    auto read = RunCommand({kTcpdump, "-n", "-r", file});
    EXPECT_THAT(read, IsOk());
    if (!read.ok()) return -1;
    return static_cast<int>(
        std::vector<absl::string_view>(absl::StrSplit(read->out, '\n', absl::SkipEmpty()))
            .size());
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<LabAgent> agent_;
  std::string call_;
  gid_t users_gid_ = 0;
  int configs_ = 0;
};

// With no --listen and no config: the unix socket alone (no TCP port in
// ss), mode 0660 and group netprobe from its first byte. The agent runs in
// a mount namespace of its own with an empty /run and an /etc/group that
// has `netprobe`, so the test touches neither of the host's.
TEST_F(UnixIdentityLabTest, DefaultsAreTheUnixSocketAloneOwnedByGroupNetprobe) {
  const std::string group_file = absl::StrCat(lab_->dir(), "/group");
  std::filesystem::copy_file("/etc/group", group_file);
  std::ofstream(group_file, std::ios::app) << "netprobe:x:4500:\n";
  const std::string setup =
      absl::StrCat("mount -t tmpfs none /run && mount --bind ", group_file,
                   " /etc/group && exec ", NETPROBE_AGENT_BIN);
  auto agent = lab_->Spawn(
      kAgent, {"unshare", "--mount", "--propagation", "private", "sh", "-c", setup});
  ASSERT_THAT(agent, IsOk());
  auto line = agent->WaitForStderr("listening on", absl::Seconds(15));
  ASSERT_THAT(line, IsOk());
  EXPECT_THAT(*line, HasSubstr("listening on unix:/run/netprobe/agent.sock"));
  EXPECT_THAT(*line, Not(HasSubstr("7431")));

  auto tcp = lab_->Exec(kAgent, {"ss", "-H", "-tln"});
  ASSERT_THAT(tcp, IsOk());
  EXPECT_EQ(tcp->out, "") << "TCP listeners with the defaults:\n" << tcp->out;
  const std::string pid = absl::StrCat(agent->pid());
  auto mode = RunCommand(
      {"nsenter", "-t", pid, "-m", "stat", "-c", "%a %G", "/run/netprobe/agent.sock"});
  ASSERT_THAT(mode, IsOk());
  EXPECT_EQ(mode->out, "660 netprobe\n") << mode->err;
  // And it answers there.
  auto info = RunCommand({"nsenter", "-t", pid, "-m", "-n", NETPROBE_CLIENT_BIN, "info"});
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->exit_code, 0) << info->out << info->err;
}

// A TCP listener, loopback included, takes anonymous callers only with
// --insecure.
TEST_F(UnixIdentityLabTest, AnonymousTcpListenerNeedsInsecureEvenOnLoopback) {
  auto refused = lab_->Exec(kAgent, {NETPROBE_AGENT_BIN, "--listen", "127.0.0.1:0"},
                            absl::Seconds(15));
  ASSERT_THAT(refused, IsOk());
  EXPECT_EQ(refused->exit_code, 2) << refused->err;
  EXPECT_THAT(refused->err, HasSubstr("listen address '127.0.0.1:0'"));
  EXPECT_THAT(refused->err, HasSubstr("--insecure"));
  EXPECT_THAT(refused->err, HasSubstr("--token-file"));
}

TEST_F(UnixIdentityLabTest, NobodyIsRefusedByTheSocketAGroupMemberIsServedByUid) {
  ASSERT_NO_FATAL_FAILURE(StartAgent(""));
  const RunResult nobody = Call(kNobody, "GetInfo", "");
  EXPECT_EQ(nobody.exit_code, 1) << nobody.out << nobody.err;
  EXPECT_THAT(nobody.out, HasSubstr("Permission denied"));

  const RunResult member = Call(kNoGrants, "GetInfo", "");
  EXPECT_EQ(member.exit_code, 0) << member.out << member.err;
  auto audit = agent_->process().WaitForStderr(
      absl::StrCat("identity=unix:uid=", kNoGrants, " method=/netprobe.v1.Agent/GetInfo"),
      absl::Seconds(10));
  ASSERT_THAT(audit, IsOk());
  EXPECT_THAT(*audit, HasSubstr(absl::StrCat("gid=", kNoGrants)));  // its primary group
  EXPECT_THAT(*audit, HasSubstr("code=OK"));
  // Root is named too.
  EXPECT_EQ(Call(std::nullopt, "GetInfo", "").exit_code, 0);
  EXPECT_THAT(
      agent_->process().WaitForStderr("identity=unix:uid=0(root)", absl::Seconds(10)),
      IsOk());
}

// A uid holds at most server_limits.max_unix_connections_per_uid open
// connections: one more is closed as it is accepted (and logged), root and
// other uids are still served, and a closed connection frees its place.
TEST_F(UnixIdentityLabTest, AUidHoldsAtMostItsLimitOfConnectionsOthersAreServed) {
  ASSERT_NO_FATAL_FAILURE(
      StartAgent("server_limits { max_unix_connections_per_uid: 3 }"));
  const std::string path = std::string(absl::StripPrefix(agent_->address(), "unix:"));
  // Three connections of uid kNoGrants that speak HTTP/2 (the client
  // preface and an empty SETTINGS frame) and then hold still.
  const std::string holder = absl::StrCat(
      "import signal, socket\n"
      "held = []\n"
      "for _ in range(3):\n"
      "    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
      "    s.connect('",
      path, "')\n",
      "    s.sendall(b'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n' + bytes(3) + b'\\x04' + "
      "bytes(5))\n"
      "    held.append(s)\n"
      "print('held', flush=True)\n"
      "signal.pause()\n");
  auto holding =
      lab_->Spawn(kAgent, {"setpriv", absl::StrCat("--reuid=", kNoGrants),
                           absl::StrCat("--regid=", kNoGrants),
                           absl::StrCat("--groups=", users_gid_), kPython, "-c", holder});
  ASSERT_THAT(holding, IsOk());
  ASSERT_THAT(holding->WaitForStdout("held", absl::Seconds(10)), IsOk());

  // The unix socket's backlog is accepted in order: the three are the
  // agent's before this fourth connection.
  const RunResult over = Call(kNoGrants, "GetInfo", "");
  EXPECT_NE(over.exit_code, 0) << over.out << over.err;
  EXPECT_THAT(over.out, HasSubstr("status: 14 ")) << over.err;  // UNAVAILABLE
  EXPECT_THAT(agent_->process().WaitForStderr(
                  absl::StrCat("unix connection of unix:uid=", kNoGrants,
                               " closed: that uid holds 3 open connections, the limit "
                               "(server_limits.max_unix_connections_per_uid is 3)"),
                  absl::Seconds(10)),
              IsOk());
  EXPECT_EQ(Call(std::nullopt, "GetInfo", "").exit_code, 0);
  EXPECT_EQ(Call(kAllGrants, "GetInfo", "").exit_code, 0);

  // The holder goes; once the agent has closed its side of those
  // connections (ss lists none on the socket's path), the uid is served.
  holding->Signal(SIGKILL);
  EXPECT_THAT(holding->Wait(absl::Seconds(10)), IsOk());
  bool closed = false;
  for (int i = 0; i < 200 && !closed; ++i) {  // bounded: 10 s
    auto ss = lab_->Exec(kAgent, {"ss", "-xH", "state", "connected"});
    ASSERT_THAT(ss, IsOk());
    closed = !absl::StrContains(ss->out, path);
    if (!closed) absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(closed) << "the agent kept the closed connections open";
  const RunResult served = Call(kNoGrants, "GetInfo", "");
  EXPECT_EQ(served.exit_code, 0) << served.out << served.err;
}

// Bad identity rules: the agent refuses to start (exit 2) naming the rule;
// after a SIGHUP it keeps the running policy and says so.
TEST_F(UnixIdentityLabTest, BadIdentityRulesRefuseTheStartAndAReloadKeepsThePolicy) {
  const std::string socket = absl::StrCat(lab_->dir(), "/bad.sock");
  const std::string bad_file = absl::StrCat(lab_->dir(), "/bad.textproto");
  const struct {
    std::string rules;
    std::string says;
  } kBad[] = {
      {"identities { identity: \"unix:user=np-no-such-user\" }",
       "no user 'np-no-such-user' on this host"},
      {"identities { identity: \"unix:uid=4294967295\" }",
       "uid '4294967295' is out of range (0 to 4294967294)"},
      {"identities { identity: \"unix:group=np-no-such-group\" }", "np-no-such-group"},
      {absl::StrCat("identities { identity: \"unix:uid=", kNoGrants,
                    "\" } identities { identity: \"unix:uid=", kNoGrants, "\" }"),
       "overlaps"},
  };
  for (const auto& bad : kBad) {
    std::ofstream(bad_file, std::ios::trunc) << "policy { " << bad.rules << " }\n";
    auto run = lab_->Exec(kAgent,
                          {NETPROBE_AGENT_BIN, "--listen", absl::StrCat("unix:", socket),
                           "--config", bad_file},
                          absl::Seconds(15));
    ASSERT_THAT(run, IsOk());
    EXPECT_EQ(run->exit_code, 2) << bad.rules << "\n" << run->err;
    EXPECT_THAT(run->err, HasSubstr(bad.says)) << bad.rules;
    EXPECT_THAT(run->err, HasSubstr("policy.identities")) << bad.rules;
  }

  // Running with a rule that limits kNoGrants to Ping; each bad policy sent
  // by SIGHUP is refused and the rule stays in force.
  const std::string good =
      absl::StrCat("policy { identities { identity: \"unix:uid=", kNoGrants,
                   "\" enabled_probes: \"Ping\" } }");
  ASSERT_NO_FATAL_FAILURE(StartAgent(good));
  const std::string config = absl::StrCat(lab_->dir(), "/agent-", configs_, ".textproto");
  const std::string tcp =
      absl::StrCat("targets: \"", lab_->host(kTarget).ipv4, ":9\" count: 1");
  for (const auto& bad : kBad) {
    std::ofstream(config, std::ios::trunc) << "policy { " << bad.rules << " }\n";
    agent_->process().Signal(SIGHUP);
    // Each bad policy's message is its own: the line is this reload's.
    auto line = agent_->process().WaitForStderr(bad.says, absl::Seconds(10));
    ASSERT_THAT(line, IsOk()) << bad.rules;
    EXPECT_THAT(*line, HasSubstr("SIGHUP: not reloaded, the running configuration "
                                 "(policy, scheduled probes, modules) stays in force"));
    EXPECT_THAT(Call(kNoGrants, "TcpConnect", tcp).out, HasSubstr(kDenied)) << bad.rules;
  }
  // A good reload is taken.
  std::ofstream(config, std::ios::trunc) << "\n";
  agent_->process().Signal(SIGHUP);
  ASSERT_THAT(agent_->process().WaitForStderr("SIGHUP: configuration reloaded",
                                              absl::Seconds(10)),
              IsOk());
  EXPECT_EQ(Call(kNoGrants, "TcpConnect", tcp).exit_code, 0);
}

// The socket's mode from the config is checked like the flag's, and a
// symlink where the socket goes is neither followed nor replaced.
TEST_F(UnixIdentityLabTest, ConfigModeIsCheckedAndASymlinkAtThePathIsNotFollowed) {
  const std::string config = absl::StrCat(lab_->dir(), "/mode.textproto");
  std::ofstream(config) << "unix_socket_mode: 01666\n";
  const std::string socket = absl::StrCat(lab_->dir(), "/mode.sock");
  auto mode = lab_->Exec(
      kAgent,
      {NETPROBE_AGENT_BIN, "--listen", absl::StrCat("unix:", socket), "--config", config},
      absl::Seconds(15));
  ASSERT_THAT(mode, IsOk());
  EXPECT_EQ(mode->exit_code, 2) << mode->err;
  EXPECT_THAT(mode->err,
              HasSubstr("unix_socket_mode: 1666 is not a mode from 0 to 0777"));

  const std::string victim = absl::StrCat(lab_->dir(), "/victim");
  std::ofstream(victim) << "keep\n";
  ASSERT_EQ(chmod(victim.c_str(), 0600), 0);
  const std::string link = absl::StrCat(lab_->dir(), "/link.sock");
  std::filesystem::create_symlink(victim, link);
  auto linked =
      lab_->Exec(kAgent, {NETPROBE_AGENT_BIN, "--listen", absl::StrCat("unix:", link)},
                 absl::Seconds(15));
  ASSERT_THAT(linked, IsOk());
  EXPECT_EQ(linked->exit_code, 1) << linked->err;  // cannot start (not bad flags)
  EXPECT_THAT(linked->err,
              HasSubstr(absl::StrCat(link, ": the path exists and is not a socket")));
  struct stat st;
  ASSERT_EQ(stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "the symlink's target was changed";
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  std::ifstream in(victim);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "keep");
}

TEST_F(UnixIdentityLabTest, AUidRuleLimitsThatUidAndNotRoot) {
  ASSERT_NO_FATAL_FAILURE(
      StartAgent(absl::StrCat("policy { identities { identity: \"unix:uid=", kNoGrants,
                              "\" enabled_probes: \"Ping\" } }")));
  const std::string target = lab_->host(kTarget).ipv4;
  const std::string ping = absl::StrCat("targets: \"", target, "\" count: 1");
  const std::string tcp = absl::StrCat("targets: \"", target, ":9\" count: 1");
  EXPECT_EQ(Call(kNoGrants, "Ping", ping).exit_code, 0);
  const RunResult limited = Call(kNoGrants, "TcpConnect", tcp);
  EXPECT_THAT(limited.out, HasSubstr(kDenied));
  EXPECT_THAT(limited.out,
              HasSubstr(absl::StrCat("the TcpConnect probe is not enabled for unix:uid=",
                                     kNoGrants, " (its rule enables Ping)")));
  const RunResult root = Call(std::nullopt, "TcpConnect", tcp);
  EXPECT_EQ(root.exit_code, 0) << root.out;
  // Another uid has no rule: the policy's defaults.
  EXPECT_EQ(Call(kAllGrants, "TcpConnect", tcp).exit_code, 0);
}

TEST_F(UnixIdentityLabTest, EachPrivilegedKnobNeedsItsGrantAndNoPacketLeavesWithout) {
  ASSERT_NO_FATAL_FAILURE(StartAgent(
      absl::StrCat("policy { identities { identity: \"unix:uid=", kInterfaceOnly,
                   "\" grants: \"interface\" }\n"
                   "identities { identity: \"unix:uid=",
                   kAllGrants, "\" grants: \"*\" } }"),
      {"--enable-probe", "Capture"}));
  const std::string target = lab_->host(kTarget).ipv4;
  const std::string ping = absl::StrCat("targets: \"", target, "\" count: 1 ");
  struct Knob {
    uid_t refused_uid;
    std::string method;
    std::string request;
    std::string grant;
  };
  const std::vector<Knob> knobs = {
      {kNoGrants, "Ping", ping + "options { mark: 7 }", "mark"},
      {kNoGrants, "Ping", ping + "options { interface: \"eth0\" }", "interface"},
      {kNoGrants, "Ping",
       ping + "options { source_address: \"" + lab_->host(kAgent).ipv4 + "\" }",
       "source_address"},
      {kNoGrants, "Ping", ping + "options { priority: 7 }", "priority"},
      {kNoGrants, "TcpConnect",
       absl::StrCat("targets: \"", target, ":9\" count: 1 send_payload: \"hi\""),
       "tcp_payload"},
      {kNoGrants, "Capture", "interface: \"eth0\" duration { seconds: 1 }", "interface"},
      {kInterfaceOnly, "Capture",
       "interface: \"eth0\" promiscuous: true duration { seconds: 1 }", "promiscuous"},
      {kInterfaceOnly, "Capture",
       "interface: \"eth0\" include_own_traffic: true duration { seconds: 1 }",
       "own_traffic"},
      {kNoGrants, "Sockets", "processes: true", "processes"},
  };
  const std::string refused_file = absl::StrCat(lab_->dir(), "/refused.pcap");
  Process refused_capture = CaptureFromAgent(refused_file);
  for (const Knob& knob : knobs) {
    const RunResult refused = Call(knob.refused_uid, knob.method, knob.request);
    EXPECT_THAT(refused.out, HasSubstr(kDenied)) << knob.request;
    EXPECT_THAT(refused.out,
                HasSubstr(absl::StrCat("needs the grant '", knob.grant, "'")))
        << knob.request;
    EXPECT_THAT(refused.out, HasSubstr(absl::StrCat("unix:uid=", knob.refused_uid)))
        << knob.request;
  }
  EXPECT_EQ(PacketsIn(refused_capture, refused_file), 0)
      << "packets left for refused requests";

  // Root on the unix socket holds every grant by default, and a rule's "*"
  // gives them all.
  const std::string granted_file = absl::StrCat(lab_->dir(), "/granted.pcap");
  Process granted_capture = CaptureFromAgent(granted_file);
  for (const Knob& knob : knobs) {
    for (std::optional<uid_t> uid : {std::optional<uid_t>(), std::optional(kAllGrants)}) {
      const RunResult granted = Call(uid, knob.method, knob.request);
      EXPECT_EQ(granted.exit_code, 0)
          << (uid ? absl::StrCat("uid ", *uid) : "root") << ": " << knob.request << "\n"
          << granted.out << granted.err;
    }
  }
  // Four pings and a TCP connect (SYN) each by root and uid 4444.
  EXPECT_GE(PacketsIn(granted_capture, granted_file), 10);
}

// Server-side request forgery: a caller over TCP must not reach services on
// the agent's host through it. Unix callers are on the host already.
class LocalTargetsLabTest : public UnixIdentityLabTest {
 protected:
  std::vector<std::string> LocalTargets() const {
    return {"127.0.0.1",
            "::1",
            "0.0.0.0",
            "::ffff:127.0.0.1",
            lab_->host(kAgent).ipv4,
            lab_->host(kAgent).ipv6};
  }
  // The agent's bound TCP address that starts with `prefix`.
  std::string Bound(const std::string& prefix) const {
    for (const std::string& bound : agent_->bound()) {
      if (absl::StartsWith(bound, prefix)) return bound;
    }
    ADD_FAILURE() << "no listener " << prefix << " in "
                  << absl::StrJoin(agent_->bound(), " ");
    return "";
  }
  RunResult Ping(int host, std::vector<std::string> client_args,
                 const std::string& target) {
    client_args.insert(client_args.begin(), NETPROBE_CLIENT_BIN);
    client_args.insert(client_args.end(), {"ping", "-c", "1", "-W", "1s", target});
    auto run = lab_->Exec(host, client_args);
    EXPECT_THAT(run, IsOk());
    return run.ok() ? *run : RunResult{};
  }
};

TEST_F(LocalTargetsLabTest, AnAnonymousTcpCallerCannotProbeTheAgentsHost) {
  ASSERT_NO_FATAL_FAILURE(StartAgent(
      "", {"--listen", absl::StrCat(lab_->host(kAgent).ipv4, ":0"), "--insecure"}));
  const std::string tcp = Bound(lab_->host(kAgent).ipv4);
  for (const std::string& target : LocalTargets()) {
    const RunResult refused = Ping(kTarget, {"--agent", tcp}, target);
    EXPECT_NE(refused.exit_code, 0) << target << ": " << refused.out;
    EXPECT_THAT(refused.err, HasSubstr("needs the grant local_targets")) << target;
    auto unix_caller = agent_->Client({"ping", "-c", "1", "-W", "1s", target});
    ASSERT_THAT(unix_caller, IsOk());
    EXPECT_THAT(unix_caller->err, Not(HasSubstr("local_targets"))) << target;
  }
  // Other targets are not local.
  const RunResult remote = Ping(kTarget, {"--agent", tcp}, lab_->host(kTarget).ipv4);
  EXPECT_EQ(remote.exit_code, 0) << remote.out << remote.err;
}

TEST_F(LocalTargetsLabTest, ATokenWithTheGrantMayProbeTheAgentsHostOneWithoutMayNot) {
  const std::string dir = lab_->dir();
  const std::string tokens = absl::StrCat(dir, "/tokens");
  std::ofstream(tokens) << "ops ops-token-1f2e3d4c5b6a79880011223344556677\n"
                        << "dev dev-token-8899aabbccddeeff0011223344556677\n";
  ASSERT_EQ(chmod(tokens.c_str(), 0600), 0);
  std::ofstream(absl::StrCat(dir, "/ops.token"))
      << "ops-token-1f2e3d4c5b6a79880011223344556677\n";
  std::ofstream(absl::StrCat(dir, "/dev.token"))
      << "dev-token-8899aabbccddeeff0011223344556677\n";
  for (const char* name : {"/ops.token", "/dev.token"}) {
    ASSERT_EQ(chmod(absl::StrCat(dir, name).c_str(), 0600), 0);
  }
  // Tokens need no TLS on loopback.
  ASSERT_NO_FATAL_FAILURE(StartAgent(
      "policy { identities { identity: \"token:ops\" grants: \"local_targets\" } }",
      {"--listen", "127.0.0.1:0", "--token-file", tokens}));
  const std::string loopback = Bound("127.0.0.1:");
  for (const std::string& target : LocalTargets()) {
    const RunResult refused = Ping(
        kAgent, {"--agent", loopback, "--token-file", absl::StrCat(dir, "/dev.token")},
        target);
    EXPECT_NE(refused.exit_code, 0) << target << ": " << refused.out;
    EXPECT_THAT(refused.err, HasSubstr("needs the grant local_targets")) << target;
    EXPECT_THAT(refused.err, HasSubstr("token:dev")) << target;
    const RunResult granted = Ping(
        kAgent, {"--agent", loopback, "--token-file", absl::StrCat(dir, "/ops.token")},
        target);
    EXPECT_THAT(granted.err, Not(HasSubstr("local_targets"))) << target;
  }
}

}  // namespace
}  // namespace netprobe::testing
