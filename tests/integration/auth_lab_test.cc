// Authentication and transport end to end (issue 8): the real agent in one
// lab host listens on its lab address with TLS, mutual TLS or tokens; the
// real client calls it from a second host and asks for pings of a third.
// Every refused attempt is made under tcpdump in the target host, which must
// count no ICMP from the agent; the accepted ones count theirs, so the check
// can fail. Certificates are made by the openssl CLI at test time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/lab/lab.h"
#include "tests/lab/test_certificates.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kAgent = 0, kClient = 1, kTarget = 2;
constexpr char kGoodToken[] = "ci-token-5d1f0c2e9a7b4e66b0c3a1d2e4f5a6b7";
constexpr char kBadToken[] = "ci-token-00000000000000000000000000000000";
// The client's exit code for a refused TLS handshake or token.
constexpr int kExitNotAuthenticated = 5;

class AuthLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto lab = Lab::Create(3);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    dir_ = lab_->dir();
    ASSERT_NO_FATAL_FAILURE(MakeCertificates());
    WriteSecret("tokens", absl::StrCat("# name token\nci ", kGoodToken, "\n"));
    WriteSecret("good.token", absl::StrCat(kGoodToken, "\n"));
    WriteSecret("bad.token", absl::StrCat(kBadToken, "\n"));
  }

  std::string File(absl::string_view name) const { return absl::StrCat(dir_, "/", name); }

  // A self-signed CA, and a certificate it signs for `name` with `extensions`.
  void MakeCa(const std::string& name) { ASSERT_THAT(MakeTestCa(dir_, name), IsOk()); }
  void MakeLeaf(const std::string& name, const std::string& ca,
                const std::string& extensions) {
    ASSERT_THAT(MakeTestLeaf(dir_, name, ca, extensions), IsOk());
  }
  void MakeCertificates() {
    ASSERT_NO_FATAL_FAILURE(MakeCa("ca"));
    ASSERT_NO_FATAL_FAILURE(MakeCa("wrong-ca"));
    ASSERT_NO_FATAL_FAILURE(
        MakeLeaf("agent", "ca",
                 absl::StrCat("subjectAltName=IP:", lab_->host(kAgent).ipv4,
                              ",DNS:agent.lab\nextendedKeyUsage=serverAuth\n")));
    ASSERT_NO_FATAL_FAILURE(MakeLeaf("alice", "ca", "extendedKeyUsage=clientAuth\n"));
    ASSERT_NO_FATAL_FAILURE(
        MakeLeaf("mallory", "wrong-ca", "extendedKeyUsage=clientAuth\n"));
  }
  void WriteSecret(const std::string& name, const std::string& text) {
    std::ofstream(File(name)) << text;
    chmod(File(name).c_str(), 0600);
  }

  // Starts the agent on its lab address (port 0) with `args`; returns the
  // TCP address it bound.
  std::string StartAgent(std::vector<std::string> args) {
    args.insert(args.begin(), {"--listen", absl::StrCat(lab_->host(kAgent).ipv4, ":0")});
    auto agent = LabAgent::Start(*lab_, kAgent, args);
    EXPECT_THAT(agent, IsOk());
    if (!agent.ok()) return "";
    agent_ = std::make_unique<LabAgent>(*std::move(agent));
    for (const std::string& bound : agent_->bound()) {
      if (absl::StartsWith(bound, lab_->host(kAgent).ipv4)) return bound;
    }
    ADD_FAILURE() << "no TCP listener in " << absl::StrJoin(agent_->bound(), " ");
    return "";
  }

  // The real client in the client host: `global` options, then a ping of
  // the target host.
  RunResult PingFromClient(const std::string& agent, std::vector<std::string> global) {
    std::vector<std::string> argv = {NETPROBE_CLIENT_BIN, "--agent", agent, "--timeout",
                                     "10s"};
    argv.insert(argv.end(), global.begin(), global.end());
    for (const char* arg : {"ping", "-c", "3", "-i", "10ms"}) argv.push_back(arg);
    argv.push_back(lab_->host(kTarget).ipv4);
    auto run = lab_->Exec(kClient, argv, absl::Seconds(30));
    EXPECT_THAT(run, IsOk());
    return run.ok() ? *run : RunResult();
  }

  // Echo requests from the agent's host that reach the target's eth0 while
  // `attempt` runs: what a ping probe sends. They are counted from the
  // packets tcpdump decoded, not from its "received by filter" statistic,
  // which also counts whatever arrived before the filter was attached (it
  // made this count 1 where no probe ran). After the attempt the test sends
  // one echo request of its own with a size no probe uses; once tcpdump has
  // printed it, every earlier packet has been printed too.
  int IcmpFromAgentDuring(const std::function<void()>& attempt) {
    auto tcpdump =
        lab_->Spawn(kTarget, {"tcpdump", "-i", "eth0", "-n", "-l",
                              absl::StrCat("icmp[icmptype] == icmp-echo and src host ",
                                           lab_->host(kAgent).ipv4)});
    EXPECT_THAT(tcpdump, IsOk());
    if (!tcpdump.ok()) return -1;
    EXPECT_THAT(tcpdump->WaitForStderr("listening on", absl::Seconds(10)), IsOk());
    attempt();
    constexpr char kMarkerSize[] = "1000";     // ICMP payload bytes
    constexpr char kMarker[] = "length 1008";  // as tcpdump prints it
    auto marker = lab_->Exec(kAgent, {"ping", "-c", "1", "-W", "5", "-s", kMarkerSize,
                                      lab_->host(kTarget).ipv4});
    EXPECT_THAT(marker, IsOk());
    EXPECT_THAT(tcpdump->WaitForStdout(kMarker, absl::Seconds(10)), IsOk());
    tcpdump->Signal(SIGINT);
    EXPECT_THAT(tcpdump->Wait(absl::Seconds(10)), IsOk());
    int packets = 0;
    for (absl::string_view line : absl::StrSplit(tcpdump->out(), '\n')) {
      if (absl::StrContains(line, "ICMP echo request") &&
          !absl::StrContains(line, kMarker)) {
        ++packets;
      }
    }
    return packets;
  }

  // Refused: the client says why and exits 5, and no probe packet left.
  void ExpectRefused(const std::string& agent, const std::vector<std::string>& global,
                     const std::string& why, std::string* err = nullptr) {
    RunResult run;
    const int packets = IcmpFromAgentDuring([&] { run = PingFromClient(agent, global); });
    EXPECT_EQ(run.exit_code, kExitNotAuthenticated) << run.err;
    EXPECT_THAT(run.err, HasSubstr(why));
    EXPECT_THAT(run.out, Not(HasSubstr("bytes from")));
    EXPECT_EQ(packets, 0) << "ICMP from the agent after a refused call; client: "
                          << run.err;
    std::cerr << "refused (exit " << run.exit_code << ", " << packets
              << " ICMP packets): " << run.err;
    if (err != nullptr) *err = run.err;
  }

  // Accepted: three echo requests reach the target, three replies come back.
  void ExpectPings(const std::string& agent, const std::vector<std::string>& global) {
    RunResult run;
    const int packets = IcmpFromAgentDuring([&] { run = PingFromClient(agent, global); });
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.out, HasSubstr("3 packets transmitted, 3 received"));
    EXPECT_GE(packets, 3);
    std::cerr << "accepted call: " << packets << " ICMP packets from the agent seen\n";
  }

  std::unique_ptr<Lab> lab_;
  std::string dir_;
  std::unique_ptr<LabAgent> agent_;
};

TEST_F(AuthLabTest, MutualTlsAdmitsOnlyClientsOfItsCa) {
  const std::string agent =
      StartAgent({"--tls-cert", File("agent.pem"), "--tls-key", File("agent.key"),
                  "--client-ca", File("ca.pem")});
  ASSERT_FALSE(agent.empty());
  const std::vector<std::string> trust = {"--tls-ca", File("ca.pem")};
  const std::vector<std::string> alice = {"--tls-ca",   File("ca.pem"),
                                          "--tls-cert", File("alice.pem"),
                                          "--tls-key",  File("alice.key")};

  ASSERT_NO_FATAL_FAILURE(ExpectPings(agent, alice));
  // The agent knows the caller by its certificate's CN (the RPC log line).
  EXPECT_THAT(agent_->process().WaitForStderr("identity=x509:alice", absl::Seconds(5)),
              IsOk());

  // No client certificate.
  ExpectRefused(agent, trust,
                "closed the connection before any call: it wants a client "
                "certificate");
  // A client certificate from another CA.
  ExpectRefused(agent,
                {"--tls-ca", File("ca.pem"), "--tls-cert", File("mallory.pem"),
                 "--tls-key", File("mallory.key")},
                "it wants a client certificate");
  // The client verifies the agent against the wrong CA: it refuses the agent.
  ExpectRefused(agent,
                {"--tls-ca", File("wrong-ca.pem"), "--tls-cert", File("alice.pem"),
                 "--tls-key", File("alice.key")},
                "is not trusted");
  // A certificate for another name than the one asked for.
  ExpectRefused(agent,
                {"--tls-ca", File("ca.pem"), "--tls-server-name", "other.lab",
                 "--tls-cert", File("alice.pem"), "--tls-key", File("alice.key")},
                "is not trusted");
  // Plaintext to the TLS listener.
  ExpectRefused(agent, {}, "it probably requires TLS");
  // The name in the certificate, when connecting by address.
  ASSERT_NO_FATAL_FAILURE(ExpectPings(
      agent, {"--tls-ca", File("ca.pem"), "--tls-server-name", "agent.lab", "--tls-cert",
              File("alice.pem"), "--tls-key", File("alice.key")}));
}

TEST_F(AuthLabTest, TokensOverTls) {
  const std::string agent =
      StartAgent({"--tls-cert", File("agent.pem"), "--tls-key", File("agent.key"),
                  "--token-file", File("tokens")});
  ASSERT_FALSE(agent.empty());
  const std::vector<std::string> trust = {"--tls-ca", File("ca.pem")};

  std::string missing, bad;
  ExpectRefused(agent, trust, "not authenticated: a valid bearer token is required",
                &missing);
  std::vector<std::string> with_bad = trust;
  with_bad.insert(with_bad.end(), {"--token-file", File("bad.token")});
  ExpectRefused(agent, with_bad, "not authenticated", &bad);
  // A wrong token and no token are told apart by nothing.
  EXPECT_EQ(bad, missing);

  std::vector<std::string> with_good = trust;
  with_good.insert(with_good.end(), {"--token-file", File("good.token")});
  ASSERT_NO_FATAL_FAILURE(ExpectPings(agent, with_good));
  EXPECT_THAT(agent_->process().WaitForStderr("identity=token:ci", absl::Seconds(5)),
              IsOk());

  // Server limits: a header block over max_metadata_bytes (8 KiB) is refused
  // before the token is even looked at.
  WriteSecret("huge.token", std::string(9000, 't'));
  std::vector<std::string> with_huge = trust;
  with_huge.insert(with_huge.end(), {"--token-file", File("huge.token")});
  RunResult huge;
  EXPECT_EQ(IcmpFromAgentDuring([&] { huge = PingFromClient(agent, with_huge); }), 0);
  EXPECT_EQ(huge.exit_code, 4) << huge.err;
  EXPECT_THAT(huge.err, HasSubstr("metadata size exceeds limit"));

  // The client keeps a token off a plaintext network, before any packet.
  auto run = lab_->Exec(kClient, {NETPROBE_CLIENT_BIN, "--agent", agent, "--token-file",
                                  File("good.token"), "info"});
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ(run->exit_code, 2);
  EXPECT_THAT(run->err, HasSubstr("not sending the token"));
}

// Issue 17: cert-manager replaces the certificate files in place; the agent
// serves the new pair to new handshakes within 10 s, without a restart, and
// a stream opened before goes on to its end. The files are swapped as
// Kubernetes does (a new file renamed over the old), the client CA too.
TEST_F(AuthLabTest, RotatedCertificateFilesServeNewHandshakesWhileOpenStreamsGoOn) {
  ASSERT_NO_FATAL_FAILURE(
      MakeLeaf("agent-next", "ca",
               absl::StrCat("subjectAltName=IP:", lab_->host(kAgent).ipv4,
                            ",DNS:agent.lab\nextendedKeyUsage=serverAuth\n")));
  ASSERT_TRUE(std::filesystem::copy_file(File("agent.pem"), File("live.pem")));
  ASSERT_TRUE(std::filesystem::copy_file(File("agent.key"), File("live.key")));
  const std::string agent = StartAgent({"--tls-cert", File("live.pem"), "--tls-key",
                                        File("live.key"), "--client-ca", File("ca.pem")});
  ASSERT_FALSE(agent.empty());
  EXPECT_THAT(agent_->process().err(), HasSubstr("(rotation without restart)"));
  const std::vector<std::string> alice = {"--tls-ca",   File("ca.pem"),
                                          "--tls-cert", File("alice.pem"),
                                          "--tls-key",  File("alice.key")};
  // The subject of the certificate a new handshake gets.
  const auto presented = [&]() -> std::string {
    auto run =
        lab_->Exec(kClient,
                   {"openssl", "s_client", "-connect", agent, "-CAfile", File("ca.pem"),
                    "-cert", File("alice.pem"), "-key", File("alice.key"), "-brief"},
                   absl::Seconds(10));
    if (!run.ok()) return run.status().ToString();
    for (absl::string_view line : absl::StrSplit(run->err, '\n')) {
      if (absl::StartsWith(line, "Peer certificate:")) return std::string(line);
    }
    return run->err;
  };
  EXPECT_THAT(presented(), HasSubstr("CN = agent"));

  // A stream of 30 pings, 200 ms apart (6 s), open across the rotation.
  std::vector<std::string> argv = {NETPROBE_CLIENT_BIN, "--agent", agent};
  argv.insert(argv.end(), alice.begin(), alice.end());
  for (const char* arg : {"ping", "-c", "30", "-i", "200ms"}) argv.push_back(arg);
  argv.push_back(lab_->host(kTarget).ipv4);
  auto stream = lab_->Spawn(kClient, argv);
  ASSERT_THAT(stream, IsOk());
  ASSERT_THAT(stream->WaitForStdout("bytes from", absl::Seconds(10)), IsOk());

  const auto replace = [&](const std::string& from, const std::string& to) {
    std::filesystem::copy_file(File(from), File(to + ".new"));
    std::filesystem::rename(File(to + ".new"), File(to));
  };
  replace("agent-next.key", "live.key");
  replace("agent-next.pem", "live.pem");
  const absl::Time replaced = absl::Now();
  std::string now;
  for (int i = 0; i < 40; ++i) {  // bounded: 40 handshakes, 250 ms apart at most
    now = presented();
    if (absl::StrContains(now, "CN = agent-next")) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  const absl::Duration took = absl::Now() - replaced;
  EXPECT_THAT(now, HasSubstr("CN = agent-next"));
  EXPECT_LE(took, absl::Seconds(10));
  RecordProperty("rotation_ms", static_cast<int>(absl::ToInt64Milliseconds(took)));
  EXPECT_THAT(agent_->process().WaitForStderr(
                  "TLS certificate files changed: new handshakes present CN=agent-next",
                  absl::Seconds(10)),
              IsOk());
  // A new call verifies the new certificate against the same CA.
  ASSERT_NO_FATAL_FAILURE(ExpectPings(agent, alice));

  // The stream opened before goes on to its end: every ping answered.
  auto code = stream->Wait(absl::Seconds(30));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 0) << stream->err();
  EXPECT_THAT(stream->out(), HasSubstr("30 packets transmitted, 30 received"));

  // Files that do not go together (the key of another certificate): the log
  // says so at once (gRPC 1.51 takes them all the same, and new handshakes
  // fail until the files are fixed); fixed, they serve again.
  replace("alice.key", "live.key");
  EXPECT_THAT(agent_->process().WaitForStderr(
                  "TLS certificate files changed but are not usable: --tls-key",
                  absl::Seconds(15)),
              IsOk());
  replace("agent-next.key", "live.key");
  EXPECT_THAT(agent_->process().WaitForStderr(
                  "TLS certificate files changed: new handshakes present CN=agent-next",
                  absl::Seconds(15)),
              IsOk());
  for (int i = 0; i < 40; ++i) {  // gRPC reads them on its own clock: bounded
    if (absl::StrContains(presented(), "CN = agent-next")) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  ASSERT_NO_FATAL_FAILURE(ExpectPings(agent, alice));
}

// Issue 17: the token file is followed like the certificates: a token added
// to it is accepted within 10 s, without SIGHUP; one removed is refused.
TEST_F(AuthLabTest, TokenFileChangesApplyWithoutSighup) {
  const std::string agent =
      StartAgent({"--tls-cert", File("agent.pem"), "--tls-key", File("agent.key"),
                  "--token-file", File("tokens")});
  ASSERT_FALSE(agent.empty());
  std::vector<std::string> with_new = {"--tls-ca", File("ca.pem"), "--token-file",
                                       File("bad.token")};
  ExpectRefused(agent, with_new, "not authenticated");
  // The token of bad.token becomes a valid one ("bob"), the old one goes.
  WriteSecret("tokens.new", absl::StrCat("bob ", kBadToken, "\n"));
  std::filesystem::rename(File("tokens.new"), File("tokens"));
  EXPECT_THAT(agent_->process().WaitForStderr("reloaded: 1 token", absl::Seconds(10)),
              IsOk());
  ASSERT_NO_FATAL_FAILURE(ExpectPings(agent, with_new));
  EXPECT_THAT(agent_->process().WaitForStderr("identity=token:bob", absl::Seconds(5)),
              IsOk());
  ExpectRefused(agent, {"--tls-ca", File("ca.pem"), "--token-file", File("good.token")},
                "not authenticated");
}

// The agent refuses to start (exit 2) rather than take tokens in plaintext
// off loopback, let anyone call a non-loopback TLS listener without
// --insecure, or serve TLS with a key that is not its certificate's.
TEST_F(AuthLabTest, RefusesToStartWithoutSayingWhoMayCall) {
  auto start = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {NETPROBE_AGENT_BIN, "--listen",
                               absl::StrCat(lab_->host(kAgent).ipv4, ":0")});
    auto run = lab_->Exec(kAgent, args);
    EXPECT_THAT(run, IsOk());
    return run.ok() ? *run : RunResult();
  };
  RunResult run = start({"--insecure", "--token-file", File("tokens")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("tokens would cross the network in plaintext"));

  run = start({"--tls-cert", File("agent.pem"), "--tls-key", File("agent.key")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("anyone who reaches it could send probes"));

  run = start({"--tls-cert", File("agent.pem"), "--tls-key", File("alice.key"),
               "--client-ca", File("ca.pem")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--tls-key: not the private key of the certificate"));
}

// Server limits: a request over max_receive_message_bytes is refused with
// RESOURCE_EXHAUSTED before any probe runs; one under it runs.
TEST_F(AuthLabTest, OversizedRequestIsRefusedBeforeTheProbe) {
  std::ofstream(File("limits.textproto"))
      << "server_limits { max_receive_message_bytes: 1024 }\n";
  auto agent = LabAgent::Start(*lab_, kAgent, {"--config", File("limits.textproto")});
  ASSERT_THAT(agent, IsOk());
  // 100 targets of 11 bytes: ~1.3 KB of request.
  std::vector<std::string> big = {"--timeout", "10s", "ping", "-c", "1"};
  for (int i = 0; i < 100; ++i) big.push_back(lab_->host(kTarget).ipv4);
  absl::StatusOr<RunResult> run;
  const int refused_packets = IcmpFromAgentDuring([&] { run = agent->Client(big); });
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ(run->exit_code, 4) << run->err;
  EXPECT_THAT(run->err, HasSubstr("Received message larger than max"));
  EXPECT_EQ(refused_packets, 0);
  std::cerr << "oversized request: " << run->err;

  const int packets = IcmpFromAgentDuring([&] {
    run = agent->Client({"ping", "-c", "1", lab_->host(kTarget).ipv4});
  });
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ(run->exit_code, 0) << run->err;
  EXPECT_GE(packets, 1);
}

}  // namespace
}  // namespace netprobe::testing
