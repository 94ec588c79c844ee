// Ping end to end: the real agent in the near host of a routed lab pings the
// router and the far host, with faults from nftables, through the real
// client's JSON output; iputils ping checks our RTTs.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "netprobe/v1/ping.pb.h"
#include "tests/lab/lab.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {

using ::testing::HasSubstr;

struct PingRun {
  int exit_code = -1;
  std::string err;
  std::vector<v1::PingReply> replies;
  std::vector<v1::TargetSummary> summaries;
};

class PingLabTest : public ::testing::Test {
 protected:
  static constexpr int kNear = 0, kRouter = 1, kFar = 2;

  void SetUp() override {
    auto lab = Lab::CreateRouted();
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    auto agent = LabAgent::Start(*lab_, kNear);
    ASSERT_THAT(agent, IsOk());
    agent_ = std::make_unique<LabAgent>(*std::move(agent));
  }

  static PingRun Parse(const absl::StatusOr<RunResult>& result) {
    PingRun run;
    EXPECT_THAT(result, IsOk());
    if (!result.ok()) return run;
    run.exit_code = result->exit_code;
    run.err = result->err;
    for (absl::string_view line : absl::StrSplit(result->out, '\n', absl::SkipEmpty())) {
      v1::PingEvent event;
      EXPECT_TRUE(
          google::protobuf::util::JsonStringToMessage(std::string(line), &event).ok())
          << line;
      if (event.has_reply()) run.replies.push_back(event.reply());
      if (event.has_summary()) run.summaries.push_back(event.summary());
    }
    return run;
  }

  PingRun Ping(std::vector<std::string> args, const LabAgent* agent = nullptr) {
    args.insert(args.begin(), {"--json", "ping"});
    return Parse((agent ? agent : agent_.get())->Client(args, absl::Seconds(60)));
  }

  absl::Status FilterFarInput(const std::string& rule) {
    return lab_->Nft(
        kFar, absl::StrCat("table inet lab {\n chain input {\n"
                           "  type filter hook input priority 0; policy accept;\n  ",
                           rule, "\n }\n}\n"));
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<LabAgent> agent_;
};

TEST_F(PingLabTest, RepliesAcrossTheRouterAgreeWithIputilsPing) {
  const std::string far = lab_->host(kFar).ipv4;
  PingRun run = Ping({"-c", "50", "-i", "10ms", far});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  ASSERT_EQ(run.replies.size(), 50u);
  for (size_t i = 0; i < run.replies.size(); ++i) {
    const v1::PingReply& r = run.replies[i];
    EXPECT_EQ(r.result().outcome(), v1::OUTCOME_OK);
    EXPECT_EQ(r.sequence(), i + 1);
    EXPECT_EQ(r.reply_ttl(), 63u);  // one router on the way back
    EXPECT_EQ(r.bytes(), 64u);
    EXPECT_FALSE(r.duplicate());
  }
  ASSERT_EQ(run.summaries.size(), 1u);
  const v1::TargetSummary& ours = run.summaries[0];
  EXPECT_EQ(ours.sent(), 50u);
  EXPECT_EQ(ours.received(), 50u);
  EXPECT_EQ(ours.loss_percent(), 0.0);

  // iputils ping at the same rate from the same namespace.
  auto theirs = lab_->Exec(kNear, {"ping", "-n", "-q", "-c", "50", "-i", "0.01", far});
  ASSERT_THAT(theirs, IsOk());
  ASSERT_EQ(theirs->exit_code, 0) << theirs->err;
  std::smatch m;
  const std::regex rtt_line(R"(= ([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9.]+) ms)");
  ASSERT_TRUE(std::regex_search(theirs->out, m, rtt_line)) << theirs->out;
  const double their_avg = std::stod(m[2]);
  const double our_avg = Ms(ours.rtt().avg());
  EXPECT_GT(our_avg, 0.0);
  // Same path, same rate: the averages agree within 0.1 ms (ours, from kernel
  // TX timestamps, is expected a little lower: iputils times the send in
  // user space).
  EXPECT_NEAR(our_avg, their_avg, 0.1)
      << "ours " << our_avg << " ms, iputils " << their_avg;
}

TEST_F(PingLabTest, Ipv6RepliesAcrossTheRouter) {
  PingRun run = Ping({"-c", "5", "-i", "10ms", lab_->host(kFar).ipv6});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  ASSERT_EQ(run.replies.size(), 5u);
  for (const auto& r : run.replies) {
    EXPECT_EQ(r.result().outcome(), v1::OUTCOME_OK);
    EXPECT_EQ(r.target().family(), v1::ADDRESS_FAMILY_IPV6);
    EXPECT_EQ(r.reply_ttl(), 63u);
    EXPECT_GT(Ms(r.rtt()), 0.0);
  }
}

TEST_F(PingLabTest, LossUnderNftablesRandomDropIsMeasured) {
  ASSERT_THAT(
      FilterFarInput("meta l4proto { icmp, ipv6-icmp } numgen random mod 100 < 30 drop"),
      IsOk());
  PingRun run = Ping({"-c", "1000", "-i", "1ms", "-W", "500ms", lab_->host(kFar).ipv4});
  ASSERT_EQ(run.summaries.size(), 1u) << run.err;
  const v1::TargetSummary& s = run.summaries[0];
  EXPECT_EQ(s.sent(), 1000u);
  EXPECT_EQ(s.received() + s.outcomes().at("OUTCOME_TIMEOUT"), 1000u);
  // Binomial(1000, 0.3): sigma 1.45%; 6 points is over 4 sigma.
  EXPECT_NEAR(s.loss_percent(), 30.0, 6.0);
  EXPECT_EQ(run.replies.size(), 1000u);
}

TEST_F(PingLabTest, TimeExceededIsAttributedToTheRouter) {
  for (bool v6 : {false, true}) {
    const LabHost& far = lab_->host(kFar);
    PingRun run = Ping({"-c", "2", "-i", "10ms", "-t", "1", v6 ? far.ipv6 : far.ipv4});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    ASSERT_EQ(run.replies.size(), 2u) << run.err;
    for (const auto& r : run.replies) {
      EXPECT_EQ(r.result().outcome(), v1::OUTCOME_TIME_EXCEEDED) << r.DebugString();
      EXPECT_EQ(r.result().reported_by(),
                v6 ? lab_->host(kRouter).ipv6 : lab_->host(kRouter).ipv4);
      EXPECT_EQ(r.result().icmp_type(), v6 ? 3u : 11u);
    }
  }
}

TEST_F(PingLabTest, NoRouteAtTheRouterIsNetUnreachableFromIt) {
  for (bool v6 : {false, true}) {
    PingRun run = Ping({"-c", "1", v6 ? "2001:2:0:9::9" : "198.18.9.9"});
    ASSERT_EQ(run.replies.size(), 1u) << run.err;
    const v1::PingReply& r = run.replies[0];
    EXPECT_EQ(r.result().outcome(), v1::OUTCOME_NET_UNREACHABLE) << r.DebugString();
    EXPECT_EQ(r.result().reported_by(),
              v6 ? lab_->host(kRouter).ipv6 : lab_->host(kRouter).ipv4);
  }
}

TEST_F(PingLabTest, ManyTargetsInOneRequestLikeFping) {
  auto text = agent_->Client({"ping", "-c", "3", "-i", "10ms", "-W", "300ms",
                              lab_->host(kRouter).ipv4, lab_->host(kFar).ipv4,
                              lab_->host(kFar).ipv6, "198.18.0.99"});
  ASSERT_THAT(text, IsOk());
  EXPECT_EQ(text->exit_code, 1);  // 198.18.0.99 never answers
  // The target column is padded to the longest target, as fping pads it.
  const size_t width = lab_->host(kFar).ipv6.size();
  auto padded = [&](const std::string& host) {
    return host + std::string(width - host.size(), ' ');
  };
  for (const std::string& host :
       {lab_->host(kRouter).ipv4, lab_->host(kFar).ipv4, lab_->host(kFar).ipv6}) {
    EXPECT_THAT(text->out,
                HasSubstr(absl::StrCat(padded(host), " : xmt/rcv/%loss = 3/3/0%")));
  }
  EXPECT_THAT(text->out, HasSubstr(absl::StrCat(padded("198.18.0.99"),
                                                " : xmt/rcv/%loss = 3/0/100%")));
  EXPECT_THAT(text->out, HasSubstr(absl::StrCat(padded(lab_->host(kFar).ipv4),
                                                " : [0], 64 bytes, ")));
}

// Issue 18: with many targets the output is fping's, line for line: the
// padded column, "(avg, loss)" on each reply, timeouts, the summaries; -a
// and -u list the targets that did and did not answer; -g and CIDR
// targets stand for a block's host addresses. fping 5 in the same host
// runs the same request; times are masked, everything else must match.
TEST_F(PingLabTest, ManyTargetsPrintWhatFpingPrints) {
  const std::vector<std::string> targets = {lab_->host(kRouter).ipv4,
                                            lab_->host(kFar).ipv4, lab_->host(kFar).ipv6,
                                            "198.18.0.99"};
  auto mask = [](const std::string& text) {
    std::vector<std::string> lines;
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      lines.push_back(
          std::regex_replace(std::string(line), std::regex(R"([0-9]+\.[0-9]+)"), "T"));
    }
    std::sort(lines.begin(), lines.end());
    return absl::StrJoin(lines, "\n");
  };
  std::vector<std::string> ours_args = {"ping", "-c", "2", "-i", "20ms", "-W", "300ms"};
  std::vector<std::string> fping_args = {"fping", "-c", "2", "-p", "20", "-t", "300"};
  for (const std::string& t : targets) {
    ours_args.push_back(t);
    fping_args.push_back(t);
  }
  auto ours = agent_->Client(ours_args);
  auto theirs = lab_->Exec(kNear, fping_args);
  ASSERT_THAT(ours, IsOk());
  ASSERT_THAT(theirs, IsOk());
  EXPECT_EQ(ours->exit_code, 1);
  EXPECT_EQ(theirs->exit_code, 1);
  // fping writes the replies to stdout, the summaries to stderr; any ICMP
  // error lines of its own (stderr) are not part of the comparison.
  std::string fping_lines = theirs->out;
  for (absl::string_view line : absl::StrSplit(theirs->err, '\n', absl::SkipEmpty())) {
    if (absl::StrContains(line, "xmt/rcv")) absl::StrAppend(&fping_lines, line, "\n");
  }
  EXPECT_EQ(mask(ours->out), mask(fping_lines)) << "ours:\n"
                                                << ours->out << "fping:\n"
                                                << theirs->out << theirs->err;

  // -q: the per-target summaries alone, as fping -q prints them.
  ours_args.insert(ours_args.begin() + 1, "-q");
  fping_args.insert(fping_args.begin() + 1, "-q");
  auto ours_quiet = agent_->Client(ours_args);
  auto theirs_quiet = lab_->Exec(kNear, fping_args);
  ASSERT_THAT(ours_quiet, IsOk());
  ASSERT_THAT(theirs_quiet, IsOk());
  EXPECT_EQ(ours_quiet->exit_code, theirs_quiet->exit_code);
  std::string fping_summaries;
  for (absl::string_view line :
       absl::StrSplit(theirs_quiet->err, '\n', absl::SkipEmpty())) {
    if (absl::StrContains(line, "xmt/rcv")) absl::StrAppend(&fping_summaries, line, "\n");
  }
  EXPECT_EQ(theirs_quiet->out, "");
  EXPECT_EQ(mask(ours_quiet->out), mask(fping_summaries)) << "ours:\n"
                                                          << ours_quiet->out << "fping:\n"
                                                          << theirs_quiet->err;

  // fping's -a and -u list names in its default mode (no -c; -r 0: one
  // request each); ours send one request each unless -c says otherwise.
  for (const char* flag : {"-a", "-u"}) {
    auto our_names =
        agent_->Client({"ping", flag, "-W", "300ms", targets[0], targets[1], targets[3]});
    auto fping_names = lab_->Exec(kNear, {"fping", flag, "-r", "0", "-t", "300",
                                          targets[0], targets[1], targets[3]});
    ASSERT_THAT(our_names, IsOk());
    ASSERT_THAT(fping_names, IsOk());
    EXPECT_EQ(mask(our_names->out), mask(fping_names->out)) << flag;
  }
  // -g with a block of the lab: .9 is nobody, .10 is the agent's own host.
  auto our_block = agent_->Client({"ping", "-a", "-g", "-W", "300ms", "198.18.0.8/30"});
  auto fping_block =
      lab_->Exec(kNear, {"fping", "-a", "-g", "-r", "0", "-t", "300", "198.18.0.8/30"});
  ASSERT_THAT(our_block, IsOk());
  ASSERT_THAT(fping_block, IsOk());
  EXPECT_EQ(our_block->out, fping_block->out);
  EXPECT_EQ(our_block->out, "198.18.0.10\n");
  auto too_big = agent_->Client({"ping", "-g", "10.0.0.0/8"});
  ASSERT_THAT(too_big, IsOk());
  EXPECT_EQ(too_big->exit_code, 2);
  EXPECT_THAT(too_big->err, HasSubstr("10.0.0.0/8: 16777216 addresses exceed the 4096 "
                                      "targets of one request"));
}

TEST_F(PingLabTest, TheUnspecifiedAddressIsThisHostLikeIputilsPing) {
  // iputils ping in the agent's host: 0.0.0.0 is answered (from loopback).
  auto iputils = lab_->Exec(kNear, {"ping", "-c", "1", "-W", "2", "0.0.0.0"});
  ASSERT_THAT(iputils, IsOk());
  ASSERT_EQ(iputils->exit_code, 0) << iputils->out << iputils->err;
  for (const char* unspecified : {"0.0.0.0", "::"}) {
    PingRun run = Ping({"-c", "2", "-i", "50ms", "-W", "2s", unspecified});
    EXPECT_EQ(run.exit_code, 0) << unspecified << " " << run.err;
    ASSERT_EQ(run.summaries.size(), 1u) << unspecified;
    EXPECT_EQ(run.summaries[0].received(), 2u) << unspecified;
    EXPECT_EQ(run.summaries[0].target().host(), unspecified);
    EXPECT_EQ(run.summaries[0].target().address(),
              std::string(unspecified) == "::" ? "::1" : "127.0.0.1");
  }
}

TEST_F(PingLabTest, ConcurrentPingersNeverSeeEachOthersReplies) {
  // iputils ping and a second request of ours run alongside.
  auto iputils = lab_->Spawn(
      kNear, {"ping", "-n", "-q", "-c", "200", "-i", "0.005", lab_->host(kFar).ipv4});
  ASSERT_THAT(iputils, IsOk());
  auto other =
      Process::Start({NETPROBE_CLIENT_BIN, "--agent", agent_->address(), "--json", "ping",
                      "-c", "200", "-i", "5ms", lab_->host(kFar).ipv4});
  ASSERT_THAT(other, IsOk());
  PingRun run = Ping({"-c", "200", "-i", "5ms", lab_->host(kFar).ipv4});
  ASSERT_EQ(run.summaries.size(), 1u);
  EXPECT_EQ(run.summaries[0].received(), 200u);
  EXPECT_EQ(run.summaries[0].duplicates(), 0u);
  EXPECT_EQ(run.replies.size(), 200u);
  ASSERT_THAT(other->Wait(absl::Seconds(30)), IsOk());
  ASSERT_THAT(iputils->Wait(absl::Seconds(30)), IsOk());
  EXPECT_THAT(iputils->out(), HasSubstr("200 packets transmitted, 200 received"));
}

TEST_F(PingLabTest, WithoutCapNetRawFallsBackToDatagramSocketsOrSaysWhy) {
  // An agent without CAP_NET_RAW in the far host.
  auto no_raw = [&](const std::string& group_range) -> absl::StatusOr<LabAgent> {
    auto sysctl = lab_->Exec(
        kFar, {"sysctl", "-qw", absl::StrCat("net.ipv4.ping_group_range=", group_range)});
    if (!sysctl.ok()) return sysctl.status();
    return LabAgent::Start(*lab_, kFar, {}, {"capsh", "--drop=cap_net_raw", "--"});
  };
  {
    auto agent = no_raw("0 0");  // root's group may use ICMP datagram sockets
    ASSERT_THAT(agent, IsOk());
    auto info = agent->Client({"--json", "info"});
    ASSERT_THAT(info, IsOk());
    EXPECT_THAT(info->out, ::testing::Not(HasSubstr("CAP_NET_RAW")));
    PingRun run = Ping({"-c", "3", "-i", "10ms", lab_->host(kRouter).ipv4}, &*agent);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    ASSERT_EQ(run.summaries.size(), 1u);
    EXPECT_EQ(run.summaries[0].received(), 3u);
  }
  {
    auto agent = no_raw("1 0");  // nobody may
    ASSERT_THAT(agent, IsOk());
    auto result = agent->Client({"ping", "-c", "1", lab_->host(kRouter).ipv4});
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->exit_code, 4);
    EXPECT_THAT(result->err, HasSubstr("CAP_NET_RAW"));
    EXPECT_THAT(result->err, HasSubstr("ping_group_range"));
  }
}

// Issue 18, defect 4: the same far host four times in one request; a
// position's RTT must not depend on its place in the list. Requests that
// leave as one burst queue behind each other and measure what the queue
// makes of them, not the path. A position is the rank of a request's send
// time among the four of its round (the requests of one sequence number).
// The bound, from measurement (medians of 60 rounds, in us, on this 2-core
// machine, idle and beside two busy loops): with the burst, 43-46 for the
// first position and 8.8-9.9 for the others, idle and loaded alike; spread,
// 20-37 for every position, the largest median at most 1.25x the smallest.
// So every median within max(2x the smallest, the smallest + 15 us). The
// interval is 21 ms, not 20: at 20 ms the positions kept their phase against
// a periodic disturbance of the loaded machine and one position's median
// dropped to 10 us in 3 runs of 8; at 21 ms, none in 8.
TEST_F(PingLabTest, EveryPositionInTheListMeasuresTheSameRtt) {
  constexpr int kPositions = 4, kRounds = 60;
  std::vector<std::string> args = {"-c", absl::StrCat(kRounds), "-i", "21ms", "-W", "1s"};
  for (int i = 0; i < kPositions; ++i) args.push_back(lab_->host(kFar).ipv4);
  PingRun run = Ping(args);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  ASSERT_EQ(run.replies.size(), size_t{kPositions * kRounds});
  std::map<uint32_t, std::vector<const v1::PingReply*>> rounds;
  for (const v1::PingReply& reply : run.replies) {
    ASSERT_EQ(reply.result().outcome(), v1::OUTCOME_OK);
    rounds[reply.sequence()].push_back(&reply);
  }
  ASSERT_EQ(rounds.size(), size_t{kRounds});
  auto sent_ns = [](const v1::PingReply* r) {
    return r->time().seconds() * int64_t{1000000000} + r->time().nanos();
  };
  std::vector<std::vector<double>> rtt_us(kPositions);
  for (auto& [sequence, replies] : rounds) {
    ASSERT_EQ(replies.size(), size_t{kPositions}) << "sequence " << sequence;
    std::sort(replies.begin(), replies.end(),
              [&](auto* a, auto* b) { return sent_ns(a) < sent_ns(b); });
    for (int p = 0; p < kPositions; ++p) rtt_us[p].push_back(Ms(replies[p]->rtt()) * 1e3);
  }
  std::vector<double> medians;
  for (std::vector<double>& rtts : rtt_us) {
    std::sort(rtts.begin(), rtts.end());
    medians.push_back((rtts[kRounds / 2 - 1] + rtts[kRounds / 2]) / 2);
  }
  const std::string shown = absl::StrJoin(medians, " ", [](std::string* out, double us) {
    absl::StrAppend(out, absl::SixDigits(us));
  });
  RecordProperty("median_rtt_us_by_position", shown);
  const double smallest = *std::min_element(medians.begin(), medians.end());
  const double bound = std::max(2 * smallest, smallest + 15);
  for (int p = 0; p < kPositions; ++p) {
    EXPECT_LE(medians[p], bound) << "position " << p + 1 << "; medians in us: " << shown;
  }
}

// The real client against the agent process, one fast round to 150 loopback
// addresses: the last replies and all summaries queue at once, more than one
// batch. With gRPC's buffer hint on a batch that had more behind it, the
// hinted write never completed and the stream stalled until the client gave
// up (found by the benchmark; the in-process client did not show it).
TEST_F(PingLabTest, FastBurstFromTheCliCompletes) {
  std::vector<std::string> args = {"-c", "1", "--rate", "100000", "-W", "1s"};
  for (int i = 1; i <= 150; ++i) args.push_back(absl::StrCat("127.0.1.", i));
  args.insert(args.begin(), {"--timeout", "10s"});
  PingRun run = Ping(args);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.replies.size(), 150u);
  EXPECT_EQ(run.summaries.size(), 150u);
}

// The global rate bound holds across targets: 100 loopback targets at 1 ms
// each want 100,000 requests/s; --rate 2000 must spread the 1,000 requests
// over at least 0.5 s (less the 1 ms burst the pacer allows), and no 100 ms
// window may hold more than its share. Send times are the agent's own.
TEST_F(PingLabTest, GlobalRateBoundIsHeldAcrossTargets) {
  constexpr int kTargets = 100, kCount = 10, kRate = 2000;
  std::vector<std::string> args = {"-c",     absl::StrCat(kCount), "-i", "1ms",
                                   "--rate", absl::StrCat(kRate),  "-W", "1s"};
  for (int i = 1; i <= kTargets; ++i) args.push_back(absl::StrCat("127.0.2.", i));
  PingRun run = Ping(args);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  ASSERT_EQ(run.replies.size(), size_t{kTargets * kCount});
  std::vector<double> sent_ms;
  for (const v1::PingReply& reply : run.replies) {
    sent_ms.push_back(reply.time().seconds() * 1e3 + reply.time().nanos() / 1e6);
  }
  std::sort(sent_ms.begin(), sent_ms.end());
  const double span_ms = sent_ms.back() - sent_ms.front();
  const double ideal_ms = (kTargets * kCount - 1) * 1000.0 / kRate;
  EXPECT_GE(span_ms, ideal_ms - 1.0);
  EXPECT_LE(span_ms, ideal_ms * 2) << "the pacer fell far behind the rate";
  // At most 100 ms worth plus one burst (1 ms: 2 requests at 2,000/s) plus
  // the catch-up a late wake-up keeps (RateLimiter::kCatchUp, 20 ms: 40) in
  // any window.
  size_t begin = 0;
  for (size_t end = 0; end < sent_ms.size(); ++end) {
    while (sent_ms[end] - sent_ms[begin] >= 100.0) ++begin;
    ASSERT_LE(end - begin + 1, size_t{kRate / 10 + kRate * 21 / 1000 + 1})
        << "window ending at " << end;
  }
  const double measured_pps = (sent_ms.size() - 1) / (span_ms / 1000.0);
  RecordProperty("measured_pps", absl::StrCat(measured_pps));
  EXPECT_LE(measured_pps, kRate * 1.01);
}

TEST_F(PingLabTest, BadInputIsRejectedWithTheFieldNamed) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"-s", "65508", "198.18.1.10"}, "-s/--size: '65508'"},
      {{"-t", "0", "198.18.1.10"}, "-t/--ttl: '0'"},
      {{"-i", "500us", "198.18.1.10"}, "interval: 500us is out of range"},
      {{"-W", "0", "198.18.1.10"}, "timeout: 0 is out of range"},
      {{"no-such-host.invalid"}, "targets[0]: 'no-such-host.invalid' does not resolve"},
      {{"-I", "nosuch0", "198.18.1.10"}, "options.interface: no interface 'nosuch0'"},
      {{"-6", "198.18.1.10"}, "targets[0]: 198.18.1.10 is an IPv4 address"},
      {{}, "no target"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"ping"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto result = agent_->Client(args);
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->exit_code, 2) << absl::StrJoin(c.args, " ") << result->err;
    EXPECT_THAT(result->err, HasSubstr(c.message)) << absl::StrJoin(c.args, " ");
  }
  std::vector<std::string> many = {"ping", "-c", "1"};
  for (int i = 0; i < 4097; ++i) many.push_back("198.18.1.10");
  auto result = agent_->Client(many);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->err, HasSubstr("targets: 4097 targets exceed the limit of 4096"));
}

// The "N packets transmitted" of a text run's statistics, and its "time".
struct Transmitted {
  int sent = -1, received = -1, time_ms = -1;
};
Transmitted ParseStatistics(const std::string& out) {
  Transmitted t;
  std::smatch m;
  if (std::regex_search(out, m,
                        std::regex(R"((\d+) packets transmitted, (\d+) received.*)"))) {
    t.sent = std::stoi(m[1]);
    t.received = std::stoi(m[2]);
    std::smatch time;
    const std::string line = m[0];
    if (std::regex_search(line, time, std::regex(R"(time (\d+)ms)"))) {
      t.time_ms = std::stoi(time[1]);
    }
  }
  return t;
}

// Issue 18, items 1 and 2: the target drops every echo request. Ctrl-C
// after a second prints what iputils prints: the header, which came at once
// (no reply could bring it), and statistics counting every request sent,
// those still waiting for their reply included. The count is exact (the
// target's nftables counter) and within one of iputils stopped the same way.
TEST_F(PingLabTest, CtrlCBeforeAnyReplyPrintsTheHeaderAndCountsEveryRequestSent) {
  const std::string far = lab_->host(kFar).ipv4;
  ASSERT_THAT(FilterFarInput("icmp type echo-request counter drop"), IsOk());
  auto client = Process::Start({NETPROBE_CLIENT_BIN, "--agent", agent_->address(), "ping",
                                "-i", "0.2", "-W", "5", far});
  ASSERT_THAT(client, IsOk());
  const std::string header =
      absl::StrCat("PING ", far, " (", far, ") 56(84) bytes of data.");
  ASSERT_THAT(client->WaitForStdout(header, absl::Seconds(5)), IsOk())
      << client->out() << client->err();
  absl::SleepFor(absl::Seconds(1));  // the run's length: about 6 requests
  client->Signal(SIGINT);
  auto code = client->Wait(absl::Seconds(5));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 130);
  const Transmitted ours = ParseStatistics(client->out());
  EXPECT_THAT(client->out(), HasSubstr("received, 100% packet loss, time "))
      << client->out();
  EXPECT_THAT(client->out(), ::testing::Not(HasSubstr("icmp_seq")))
      << "no per-request lines without -O, as iputils";
  auto counted = lab_->NftCounterPackets(kFar);
  ASSERT_THAT(counted, IsOk());
  EXPECT_EQ(ours.sent, *counted) << client->out();
  EXPECT_GE(ours.sent, 5);
  EXPECT_LE(ours.sent, 8);
  EXPECT_GE(ours.time_ms, 900);

  // stdbuf: iputils buffers its stdout when it is a pipe.
  auto iputils =
      lab_->Spawn(kNear, {"stdbuf", "-oL", "ping", "-n", "-i", "0.2", "-W", "5", far});
  ASSERT_THAT(iputils, IsOk());
  ASSERT_THAT(iputils->WaitForStdout("bytes of data.", absl::Seconds(5)), IsOk());
  absl::SleepFor(absl::Seconds(1));
  iputils->Signal(SIGINT);
  ASSERT_THAT(iputils->Wait(absl::Seconds(5)), IsOk());
  const Transmitted theirs = ParseStatistics(iputils->out());
  EXPECT_NEAR(ours.sent, theirs.sent, 1) << "ours:\n"
                                         << client->out() << "iputils:\n"
                                         << iputils->out();
}

// Issue 18, ping's flags end to end, each beside iputils ping run the same
// way: -q prints the header and the statistics only; -D puts iputils'
// [seconds.micros] before each reply; -O reports a request not answered in
// time as "no answer yet for icmp_seq=N".
TEST_F(PingLabTest, QuietTimestampsAndOutstandingLikeIputils) {
  const std::string far = lab_->host(kFar).ipv4;
  const auto with = [](std::vector<std::string> head,
                       const std::vector<std::string>& tail) {
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
  };
  const std::vector<std::string> quiet = {"-q", "-c", "3", "-i", "0.2", far};
  auto ours = agent_->Client(with({"ping"}, quiet));
  auto theirs = lab_->Exec(kNear, with({"ping", "-n"}, quiet));
  ASSERT_THAT(ours, IsOk());
  ASSERT_THAT(theirs, IsOk());
  for (const std::string* out : {&ours->out, &theirs->out}) {
    EXPECT_THAT(*out, HasSubstr(absl::StrCat("PING ", far, " (", far, ") 56(84) bytes")));
    EXPECT_THAT(*out, HasSubstr("3 packets transmitted, 3 received, 0% packet loss"));
    EXPECT_THAT(*out, ::testing::Not(HasSubstr("bytes from"))) << *out;
  }

  const std::regex stamped(R"(\[\d{10}\.\d{6}\] 64 bytes from \S+: icmp_seq=\d+ )");
  const std::vector<std::string> timestamps = {"-D", "-c", "2", "-i", "0.2", far};
  ours = agent_->Client(with({"ping"}, timestamps));
  theirs = lab_->Exec(kNear, with({"ping", "-n"}, timestamps));
  ASSERT_THAT(ours, IsOk());
  ASSERT_THAT(theirs, IsOk());
  for (const std::string* out : {&ours->out, &theirs->out}) {
    int lines = 0;
    for (auto it = std::sregex_iterator(out->begin(), out->end(), stamped);
         it != std::sregex_iterator(); ++it) {
      ++lines;
    }
    EXPECT_EQ(lines, 2) << *out;
  }

  ASSERT_THAT(FilterFarInput("icmp type echo-request drop"), IsOk());
  const std::vector<std::string> outstanding = {"-O",  "-c", "2", "-i",
                                                "0.5", "-W", "1", far};
  ours = agent_->Client(with({"ping"}, outstanding));
  theirs = lab_->Exec(kNear, with({"ping", "-n"}, outstanding));
  ASSERT_THAT(ours, IsOk());
  ASSERT_THAT(theirs, IsOk());
  EXPECT_EQ(ours->exit_code, 1);
  EXPECT_EQ(theirs->exit_code, 1);
  // iputils says it for a request when the next one leaves unanswered: the
  // first of two here; ours for each at its -W.
  EXPECT_THAT(theirs->out, HasSubstr("no answer yet for icmp_seq=1\n")) << theirs->out;
  EXPECT_THAT(ours->out, HasSubstr("no answer yet for icmp_seq=1\n")) << ours->out;
  EXPECT_THAT(ours->out,
              HasSubstr("2 packets transmitted, 0 received, 100% packet loss"));
  EXPECT_THAT(ours->out, ::testing::Not(HasSubstr("Request timeout"))) << ours->out;
}

// Issue 18, item 3: -w ends the run at its deadline with the statistics and
// iputils' exit codes (0 with replies, 1 without); --timeout ends it with
// the statistics too and exits 7, not "agent unreachable".
TEST_F(PingLabTest, DeadlinesEndTheRunWithItsStatisticsLikePingW) {
  const std::string far = lab_->host(kFar).ipv4;
  const absl::Time start = absl::Now();
  auto ours = agent_->Client({"ping", "-w", "1", "-i", "0.2", far}, absl::Seconds(10));
  const absl::Duration took = absl::Now() - start;
  ASSERT_THAT(ours, IsOk());
  EXPECT_EQ(ours->exit_code, 0) << ours->out << ours->err;
  EXPECT_GE(took, absl::Seconds(1));
  EXPECT_LT(took, absl::Seconds(3));
  EXPECT_THAT(ours->out, ::testing::Not(HasSubstr("stream ended early")));
  const Transmitted our_stats = ParseStatistics(ours->out);
  EXPECT_GE(our_stats.received, our_stats.sent - 1) << ours->out;
  auto theirs = lab_->Exec(kNear, {"ping", "-n", "-w", "1", "-i", "0.2", far});
  ASSERT_THAT(theirs, IsOk());
  EXPECT_EQ(theirs->exit_code, 0);
  EXPECT_NEAR(our_stats.sent, ParseStatistics(theirs->out).sent, 1)
      << "ours:\n"
      << ours->out << "iputils:\n"
      << theirs->out;

  // -c 0 (the default) with -w, nobody answering: exit 1 like iputils.
  ASSERT_THAT(FilterFarInput("icmp type echo-request drop"), IsOk());
  auto silent =
      agent_->Client({"ping", "-c", "0", "-w", "1", "-i", "0.2", far}, absl::Seconds(10));
  ASSERT_THAT(silent, IsOk());
  EXPECT_EQ(silent->exit_code, 1) << silent->out << silent->err;
  EXPECT_THAT(silent->out, HasSubstr("received, 100% packet loss"));
  auto silent_iputils = lab_->Exec(kNear, {"ping", "-n", "-w", "1", "-i", "0.2", far});
  ASSERT_THAT(silent_iputils, IsOk());
  EXPECT_EQ(silent_iputils->exit_code, 1);

  // --timeout: the statistics, a note, exit 7.
  auto cut =
      agent_->Client({"--timeout", "1s", "ping", "-i", "0.2", far}, absl::Seconds(10));
  ASSERT_THAT(cut, IsOk());
  EXPECT_EQ(cut->exit_code, 7) << cut->out << cut->err;
  EXPECT_THAT(cut->out, HasSubstr("stream ended early: DEADLINE: the call's deadline was "
                                  "reached; requests in flight are counted as sent and "
                                  "lost"));
  EXPECT_THAT(cut->out, HasSubstr("received, 100% packet loss"));
  EXPECT_THAT(cut->err, ::testing::Not(HasSubstr("unreachable")));
}

}  // namespace
}  // namespace netprobe::testing
