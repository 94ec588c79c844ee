// Broadcast end to end: the real agent in host 0 of a four-host lab asks who
// answers on the segment; agents in hosts 1 and 2 run their UDP echo
// responders, host 3 listens on the same port but never answers (or, in one
// case, answers with a payload of its own). Driven through the real client.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <iostream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "netprobe/v1/agent.pb.h"
#include "netprobe/v1/udp.pb.h"
#include "tests/lab/lab.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

struct BroadcastRun {
  int exit_code = -1;
  std::string err;
  absl::Duration took;
  std::vector<v1::BroadcastEvent> events;
  std::vector<v1::BroadcastReply> replies;
  std::vector<v1::BroadcastSummary> summaries;
  std::set<std::string> responders;  // reply addresses
};

// A python3 UDP socket on `port` in a lab host: prints "ready", then one line
// per datagram it receives; answers each with `answer` unless it is empty.
// Exits after 60 s without a datagram, so it can never outlive a test run.
std::vector<std::string> PythonListener(uint32_t port, const std::string& answer) {
  return {"/usr/bin/python3", "-c",
          absl::StrCat("import socket\n"
                       "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                       "s.bind(('', ",
                       port,
                       "))\n"
                       "s.settimeout(60)\n"
                       "print('ready', flush=True)\n"
                       "while True:\n"
                       "    data, peer = s.recvfrom(65535)\n"
                       "    print('got', peer[0], len(data), flush=True)\n"
                       "    if b'",
                       answer,
                       "':\n"
                       "        s.sendto(b'",
                       answer, "', peer)\n")};
}

class BroadcastLabTest : public ::testing::Test {
 protected:
  static constexpr int kProber = 0, kEchoA = 1, kEchoB = 2, kSilent = 3;

  void SetUp() override {
    auto lab = Lab::Create(4);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    // Broadcast is off unless enabled (policy).
    auto prober = LabAgent::Start(*lab_, kProber, {"--enable-probe", "Broadcast"});
    ASSERT_THAT(prober, IsOk());
    prober_ = std::make_unique<LabAgent>(*std::move(prober));
    // The first responder's port is the kernel's choice; the other uses it.
    auto a = LabAgent::Start(*lab_, kEchoA, {"--udp-echo", "0"});
    ASSERT_THAT(a, IsOk());
    echo_a_ = std::make_unique<LabAgent>(*std::move(a));
    auto info = echo_a_->Client({"--json", "info"});
    ASSERT_THAT(info, IsOk());
    v1::AgentInfo parsed;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(info->out, &parsed).ok())
        << info->out;
    ASSERT_EQ(parsed.udp_echo_responders_size(), 1) << info->out;
    port_ = parsed.udp_echo_responders(0).port();
    ASSERT_NE(port_, 0u);
    auto b = LabAgent::Start(*lab_, kEchoB, {"--udp-echo", std::to_string(port_)});
    ASSERT_THAT(b, IsOk());
    echo_b_ = std::make_unique<LabAgent>(*std::move(b));
  }

  // Starts host 3's listener on the responders' port.
  void StartHost3(const std::string& answer) {
    auto listener = lab_->Spawn(kSilent, PythonListener(port_, answer));
    ASSERT_THAT(listener, IsOk());
    host3_ = std::make_unique<Process>(*std::move(listener));
    ASSERT_THAT(host3_->WaitForStdout("ready", absl::Seconds(10)), IsOk());
  }

  static BroadcastRun Parse(const absl::StatusOr<RunResult>& result,
                            absl::Duration took) {
    BroadcastRun run;
    run.took = took;
    EXPECT_THAT(result, IsOk());
    if (!result.ok()) return run;
    run.exit_code = result->exit_code;
    run.err = result->err;
    for (absl::string_view line : absl::StrSplit(result->out, '\n', absl::SkipEmpty())) {
      v1::BroadcastEvent event;
      EXPECT_TRUE(
          google::protobuf::util::JsonStringToMessage(std::string(line), &event).ok())
          << line;
      if (event.has_reply()) {
        run.replies.push_back(event.reply());
        run.responders.insert(event.reply().responder().address());
      }
      if (event.has_summary()) run.summaries.push_back(event.summary());
      run.events.push_back(std::move(event));
    }
    return run;
  }

  BroadcastRun Broadcast(std::vector<std::string> args) {
    args.insert(args.begin(), {"--json", "broadcast"});
    const absl::Time start = absl::Now();
    auto result = prober_->Client(args, absl::Seconds(90));
    return Parse(result, absl::Now() - start);
  }

  std::string Ip(int host) const { return lab_->host(host).ipv4; }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<LabAgent> prober_, echo_a_, echo_b_;
  std::unique_ptr<Process> host3_;
  uint32_t port_ = 0;
};

TEST_F(BroadcastLabTest, FindsExactlyTheHostsRunningAResponder) {
  StartHost3("");
  const std::string port = std::to_string(port_);
  int datagrams_at_host3 = 0;
  for (std::string address : {"", "198.18.0.255", "255.255.255.255"}) {
    std::vector<std::string> args = {"-I", "eth0", "--port", port, "--window", "500ms"};
    if (!address.empty()) args.insert(args.end(), {"--address", address});
    BroadcastRun run = Broadcast(args);
    SCOPED_TRACE(address.empty() ? "default address" : address);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    ASSERT_FALSE(run.events.empty()) << run.err;
    // `sent` first, naming the address actually used.
    ASSERT_TRUE(run.events.front().has_sent());
    const v1::BroadcastSent& sent = run.events.front().sent();
    EXPECT_EQ(sent.result().outcome(), v1::OUTCOME_OK);
    EXPECT_EQ(sent.interface(), "eth0");
    EXPECT_EQ(sent.destination().address(), address.empty() ? "198.18.0.255" : address);
    EXPECT_EQ(sent.destination().port(), port_);
    EXPECT_NE(sent.local_port(), 0u);
    EXPECT_EQ(sent.bytes(), 18u);  // "netprobe broadcast"

    EXPECT_THAT(run.responders, UnorderedElementsAre(Ip(kEchoA), Ip(kEchoB)));
    ASSERT_EQ(run.replies.size(), 2u);
    for (const v1::BroadcastReply& reply : run.replies) {
      EXPECT_EQ(reply.responder().port(), port_);
      EXPECT_TRUE(reply.echo());
      EXPECT_EQ(reply.payload(), "netprobe broadcast");
      EXPECT_EQ(reply.bytes(), 18u);
      EXPECT_EQ(reply.ttl(), 64u);
      EXPECT_GT(Ms(reply.rtt()), 0.0);
      EXPECT_LT(Ms(reply.rtt()), 100.0);
      std::cout << "broadcast rtt to " << reply.responder().address() << " via "
                << sent.destination().address() << ": " << Ms(reply.rtt()) << " ms\n";
    }
    ASSERT_EQ(run.summaries.size(), 1u);
    EXPECT_TRUE(run.events.back().has_summary());
    EXPECT_EQ(run.summaries[0].replies(), 2u);
    EXPECT_EQ(run.summaries[0].distinct_responders(), 2u);
    EXPECT_EQ(run.summaries[0].kernel_drops(), 0u);
    EXPECT_EQ(run.summaries[0].icmp_errors(), 0u);
    // Host 3 heard it too: its silence is a real "no answer".
    ++datagrams_at_host3;
    EXPECT_THAT(
        host3_->WaitForStdout(absl::StrCat("got ", Ip(kProber), " 18"), absl::Seconds(5)),
        IsOk());
  }
  EXPECT_EQ(datagrams_at_host3, 3);
}

TEST_F(BroadcastLabTest, TextOutputNamesTheSendEachReplyAndTheCount) {
  auto text = prober_->Client(
      {"broadcast", "-I", "eth0", "-p", std::to_string(port_), "-w", "300ms"});
  ASSERT_THAT(text, IsOk());
  EXPECT_EQ(text->exit_code, 0) << text->err;
  std::cout << text->out;
  EXPECT_THAT(text->out, HasSubstr(absl::StrCat("BROADCAST eth0 198.18.0.255:", port_,
                                                " from port ")));
  EXPECT_THAT(text->out, HasSubstr(": 18 bytes, window 300ms\n"));
  for (int host : {kEchoA, kEchoB}) {
    EXPECT_THAT(text->out, HasSubstr(absl::StrCat("18 bytes from ", Ip(host), ":", port_,
                                                  ": time=")));
  }
  EXPECT_THAT(text->out, HasSubstr(" ttl=64 echo\n"));
  EXPECT_THAT(text->out, HasSubstr("\n2 replies from 2 responders\n"));
}

TEST_F(BroadcastLabTest, AForeignResponderThatDoesNotEchoIsFoundToo) {
  StartHost3("pong");
  BroadcastRun run = Broadcast({"-I", "eth0", "--port", std::to_string(port_), "--window",
                                "500ms", "--payload", "who is there?"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.responders, UnorderedElementsAre(Ip(kEchoA), Ip(kEchoB), Ip(kSilent)));
  for (const v1::BroadcastReply& reply : run.replies) {
    const bool foreign = reply.responder().address() == Ip(kSilent);
    EXPECT_EQ(reply.echo(), !foreign);
    EXPECT_EQ(reply.payload(), foreign ? "pong" : "who is there?");
  }
  ASSERT_EQ(run.summaries.size(), 1u);
  EXPECT_EQ(run.summaries[0].distinct_responders(), 3u);
}

TEST_F(BroadcastLabTest, NobodyAnsweringEndsAfterTheWindowWithExitOne) {
  // Nothing listens on this port anywhere in the lab.
  const uint32_t unused = port_ == 65535 ? port_ - 1 : port_ + 1;
  for (std::string address : {"198.18.0.255", "255.255.255.255"}) {
    BroadcastRun run = Broadcast({"-I", "eth0", "--port", std::to_string(unused),
                                  "--address", address, "--window", "700ms"});
    SCOPED_TRACE(address);
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_TRUE(run.replies.empty());
    ASSERT_EQ(run.summaries.size(), 1u);
    EXPECT_EQ(run.summaries[0].replies(), 0u);
    EXPECT_EQ(run.summaries[0].distinct_responders(), 0u);
    // Hosts do not answer a broadcast to a closed port with ICMP.
    EXPECT_EQ(run.summaries[0].icmp_errors(), 0u);
    // At least the window (the client's own start-up comes on top), and not
    // much more.
    EXPECT_GE(run.took, absl::Milliseconds(700));
    EXPECT_LT(run.took, absl::Milliseconds(700) + absl::Milliseconds(1500));
    std::cout << "no-answer run took " << absl::FormatDuration(run.took)
              << " for a 700ms window\n";
  }
  auto text = prober_->Client(
      {"broadcast", "-I", "eth0", "--port", std::to_string(unused), "--window", "10ms"});
  ASSERT_THAT(text, IsOk());
  EXPECT_EQ(text->exit_code, 1);
  EXPECT_THAT(text->out, HasSubstr("\n0 replies from 0 responders\n"));
}

TEST_F(BroadcastLabTest, AgentShutdownEndsTheStreamWithWhatWasFound) {
  auto client = Process::Start({NETPROBE_CLIENT_BIN, "--agent", prober_->address(),
                                "--json", "broadcast", "-I", "eth0", "--port",
                                std::to_string(port_), "--window", "30s"});
  ASSERT_THAT(client, IsOk());
  // Both replies are in before the agent is told to stop.
  ASSERT_THAT(client->WaitForStdout(Ip(kEchoA), absl::Seconds(10)), IsOk());
  ASSERT_THAT(client->WaitForStdout(Ip(kEchoB), absl::Seconds(10)), IsOk());
  const absl::Time start = absl::Now();
  prober_->process().Signal(SIGTERM);
  auto exit_code = client->Wait(absl::Seconds(10));
  ASSERT_THAT(exit_code, IsOk());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(*exit_code, 3) << client->err();  // cut short: exit 3, after what was found
  EXPECT_THAT(client->out(), HasSubstr("REASON_AGENT_SHUTDOWN"));
  EXPECT_THAT(client->out(), HasSubstr("\"distinctResponders\":\"2\""));
}

TEST_F(BroadcastLabTest, BadInputIsRejectedNamingTheField) {
  const std::string port = std::to_string(port_);
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string field;
  };
  const std::vector<Case> cases = {
      {{"-I", "eth9", "--port", port}, 2, "interface: no interface 'eth9'"},
      {{"-I", "lo", "--port", port}, 2, "interface: 'lo' cannot broadcast"},
      {{"--port", port}, 2, "--interface: required"},
      {{"-I", "eth0", "--port", port, "--address", Ip(kEchoA)},
       2,
       "address: '198.18.0.11' is not a broadcast address of eth0; allowed: "
       "198.18.0.255, 255.255.255.255"},
      {{"-I", "eth0", "--port", port, "--address", "198.18.1.255"}, 2, "address: "},
      {{"-I", "eth0", "--port", "0"},
       2,
       "--port: '0' is not a whole number from 1 to 65535"},
      {{"-I", "eth0", "--port", "65536"}, 2, "--port"},
      {{"-I", "eth0"}, 2, "--port: required"},
      {{"-I", "eth0", "--port", port, "--window", "61s"},
       2,
       "window: 1m1s is out of range"},
      {{"-I", "eth0", "--port", port, "--window", "0"}, 2, "window: 0 is out of range"},
      {{"-I", "eth0", "--port", port, "--window", "soon"}, 2, "--window"},
      {{"-I", "eth0", "--port", port, "--payload", std::string(65508, 'x')},
       2,
       "payload: 65508 bytes is above the maximum of 65507"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = c.args;
    args.insert(args.begin(), "broadcast");
    auto result = prober_->Client(args, absl::Seconds(10));
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->exit_code, c.exit_code) << c.field << "\n" << result->err;
    EXPECT_THAT(result->err, HasSubstr(c.field));
    EXPECT_TRUE(result->out.empty()) << result->out;
  }
}

}  // namespace
}  // namespace netprobe::testing
