// Path MTU and MPLS end to end: the real agent at the start of a chain of
// three routers, through the real client. A 1,400-byte link between r2 and
// r3: `netprobe tracepath -n` finds it where Debian's tracepath does (r2
// answers the TTL 3 probe with Fragmentation Needed / Packet Too Big, mtu
// 1400), v4 and v6. An "MPLS router" (tests/lab/icmp_mpls_responder.py) in r2
// answers every probe that reaches it for the target with a time exceeded
// carrying an RFC 4950 label stack: `netprobe traceroute -e` shows the labels
// as Debian's `traceroute -e` does, and the JSON replies carry them. Without
// -n, the agent names the hops (reverse lookups in its namespace, from a
// hosts file of the lab's) as traceroute and tracepath print them.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "netprobe/v1/traceroute.pb.h"
#include "tests/lab/lab.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {
namespace NETPROBE_UNITY_ID {

using ::testing::HasSubstr;

// A line of tracepath's output that names a hop: its TTL, the address and
// what follows the RTT ("pmtu 1400", "reached", "asymm  2", "").
struct PathLine {
  int ttl = 0;
  std::string address;
  std::string note;
  bool operator==(const PathLine&) const = default;
};

void PrintTo(const PathLine& line, std::ostream* os) {
  *os << line.ttl << " " << line.address << " [" << line.note << "]";
}

// The hop lines, without tracepath's repeats (it prints TTL 1 twice), and
// the Resume line's pmtu (0 when absent). "asymm" notes are dropped: they
// depend on the reply TTL only.
struct PathOutput {
  std::vector<PathLine> hops;
  int local_pmtu = 0;
  int resume_pmtu = 0;
  int resume_hops = 0;
};

PathOutput ParseTracepath(const std::string& out) {
  PathOutput parsed;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.size() >= 3 && words[0] == "Resume:") {
      absl::SimpleAtoi(words[2], &parsed.resume_pmtu);
      if (words.size() >= 5) absl::SimpleAtoi(words[4], &parsed.resume_hops);
      continue;
    }
    if (words.size() < 2) continue;
    if (absl::EndsWith(words[0], "?:")) {
      if (words.size() >= 4) absl::SimpleAtoi(words[3], &parsed.local_pmtu);
      continue;
    }
    PathLine hop;
    if (!absl::SimpleAtoi(absl::StripSuffix(words[0], ":"), &hop.ttl)) continue;
    hop.address = words[1];
    if (words.size() >= 4 && (words[3] == "pmtu" || words[3] == "reached")) {
      hop.note = words[3] == "pmtu" && words.size() >= 5 ? "pmtu " + words[4] : words[3];
    }
    if (parsed.hops.empty() || !(parsed.hops.back() == hop)) parsed.hops.push_back(hop);
  }
  return parsed;
}

class TraceMtuMplsLabTest : public ::testing::Test {
 protected:
  static constexpr int kRouters = 3;
  static constexpr int kSource = 0, kTarget = kRouters + 1;

  void SetUp() override {
    auto lab = Lab::CreateChain(kRouters);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    auto agent = LabAgent::Start(*lab_, kSource);
    ASSERT_THAT(agent, IsOk());
    agent_ = std::make_unique<LabAgent>(*std::move(agent));
  }

  std::string Address(int host, bool v6) const {
    return v6 ? lab_->host(host).ipv6 : lab_->host(host).ipv4;
  }

  void ExpectSamePathMtu(bool v6) {
    SCOPED_TRACE(v6 ? "IPv6" : "IPv4");
    const std::string target = Address(kTarget, v6);
    // Debian's first: it uses the path MTU the kernel learns (ours ignores
    // it, IP_PMTUDISC_PROBE), so it must not find it learnt already.
    absl::StatusOr<RunResult> theirs =
        lab_->Exec(kSource, {kTracepath, "-n", target}, absl::Seconds(60));
    ASSERT_THAT(theirs, IsOk());
    ASSERT_EQ(theirs->exit_code, 0) << theirs->err;
    absl::StatusOr<RunResult> ours =
        agent_->Client({"tracepath", "-n", target}, absl::Seconds(60));
    ASSERT_THAT(ours, IsOk());
    EXPECT_EQ(ours->exit_code, 0) << ours->err;
    const PathOutput our_path = ParseTracepath(ours->out);
    const PathOutput their_path = ParseTracepath(theirs->out);
    EXPECT_EQ(our_path.hops, their_path.hops) << "ours:\n"
                                              << ours->out << "tracepath:\n"
                                              << theirs->out;
    EXPECT_EQ(our_path.local_pmtu, 1500) << ours->out;
    EXPECT_EQ(our_path.resume_pmtu, 1400) << ours->out;
    EXPECT_EQ(their_path.resume_pmtu, 1400) << theirs->out;
    EXPECT_EQ(our_path.resume_hops, kTarget) << ours->out;
    // r2 reports the 1,400-byte link at TTL 3, as tracepath shows it.
    EXPECT_THAT(our_path.hops,
                ::testing::Contains(PathLine{3, Address(2, v6), "pmtu 1400"}))
        << ours->out;

    absl::StatusOr<RunResult> json =
        agent_->Client({"--json", "tracepath", "-n", target}, absl::Seconds(60));
    ASSERT_THAT(json, IsOk());
    ASSERT_EQ(json->exit_code, 0) << json->err;
    v1::TracerouteSummary summary;
    int too_big = 0;
    for (absl::string_view line : absl::StrSplit(json->out, '\n', absl::SkipEmpty())) {
      v1::TracerouteEvent event;
      ASSERT_TRUE(
          google::protobuf::util::JsonStringToMessage(std::string(line), &event).ok())
          << line;
      if (event.has_summary()) summary = event.summary();
      if (event.has_reply() && event.reply().next_hop_mtu() == 1400) {
        ++too_big;
        EXPECT_EQ(event.reply().packet_length(), 1500u);
        EXPECT_EQ(event.reply().result().outcome(), v1::OUTCOME_PACKET_TOO_BIG);
        EXPECT_EQ(event.reply().address(), Address(2, v6));
      }
    }
    EXPECT_EQ(too_big, 1) << json->out;
    EXPECT_EQ(summary.path_mtu(), 1400u);
    EXPECT_EQ(summary.path_mtu_ttl(), 3u);
    EXPECT_EQ(summary.reached_ttl(), static_cast<uint32_t>(kTarget));
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<LabAgent> agent_;
};

TEST_F(TraceMtuMplsLabTest, TracepathFindsTheMtuLinkAsTracepathDoesV4AndV6) {
  ASSERT_THAT(lab_->SetLinkMtu(2, 1400), IsOk());
  ExpectSamePathMtu(false);
  ExpectSamePathMtu(true);
}

TEST_F(TraceMtuMplsLabTest, MplsLabelsInTimeExceededShowAsTracerouteShowsThem) {
  // r2 forwards nothing to the target; its responder answers every probe
  // that reaches it with a time exceeded carrying two labels.
  const std::string target = Address(kTarget, false);
  ASSERT_THAT(lab_->Nft(2, absl::StrCat("table inet mpls {\n"
                                        "  chain forward {\n"
                                        "    type filter hook forward priority 0;\n"
                                        "    ip daddr ",
                                        target,
                                        " drop\n"
                                        "  }\n"
                                        "}\n")),
              IsOk());
  absl::StatusOr<Process> responder =
      lab_->Spawn(2, {"/usr/bin/python3", NETPROBE_MPLS_RESPONDER, "--interface", "eth0",
                      "--target", target, "--from", Address(2, false), "--labels",
                      "16001,24005", "--max-seconds", "120"});
  ASSERT_THAT(responder, IsOk());
  ASSERT_THAT(responder->WaitForStdout("ready", absl::Seconds(20)), IsOk())
      << responder->err();
  const std::string want =
      absl::StrCat(Address(2, false), " <MPLS:L=16001,E=0,S=0,T=1/L=24005,E=0,S=1,T=1>");
  // TTL 3 and 4 reach r2 alive: only the responder answers them.
  absl::StatusOr<RunResult> theirs = lab_->Exec(
      kSource,
      {kTraceroute, "-n", "-e", "-f", "3", "-m", "4", "-q", "1", "-w", "2", target},
      absl::Seconds(60));
  ASSERT_THAT(theirs, IsOk());
  EXPECT_THAT(theirs->out, HasSubstr(want)) << theirs->out;
  absl::StatusOr<RunResult> ours = agent_->Client(
      {"traceroute", "-n", "-e", "-f", "3", "-m", "4", "-q", "1", "-w", "2", target},
      absl::Seconds(60));
  ASSERT_THAT(ours, IsOk());
  EXPECT_THAT(ours->out, HasSubstr(absl::StrCat(" 3  ", want))) << ours->out;
  EXPECT_THAT(ours->out, HasSubstr(absl::StrCat(" 4  ", want))) << ours->out;

  absl::StatusOr<RunResult> json = agent_->Client(
      {"--json", "traceroute", "-n", "-f", "3", "-m", "3", "-q", "2", target},
      absl::Seconds(60));
  ASSERT_THAT(json, IsOk());
  int replies = 0;
  for (absl::string_view line : absl::StrSplit(json->out, '\n', absl::SkipEmpty())) {
    v1::TracerouteEvent event;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(std::string(line), &event).ok());
    if (!event.has_reply()) continue;
    ++replies;
    const v1::TracerouteReply& reply = event.reply();
    EXPECT_EQ(reply.address(), Address(2, false));
    ASSERT_EQ(reply.mpls_size(), 2) << reply.ShortDebugString();
    EXPECT_EQ(reply.mpls(0).label(), 16001u);
    EXPECT_FALSE(reply.mpls(0).bottom_of_stack());
    EXPECT_EQ(reply.mpls(1).label(), 24005u);
    EXPECT_TRUE(reply.mpls(1).bottom_of_stack());
    EXPECT_EQ(reply.mpls(1).ttl(), 1u);
    EXPECT_GT(reply.reply_ttl(), 0u) << "the answer's TTL, from IP_RECVTTL";
  }
  EXPECT_EQ(replies, 2) << json->out;
}

// Each "name (address)" of a traceroute's hop lines (the header skipped).
std::vector<std::string> NamedAddresses(const std::string& out) {
  std::vector<std::string> found;
  static const std::regex kNamed(R"((\S+) \((\S+)\))");
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "traceroute")) continue;
    const std::string text(line);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), kNamed);
         it != std::sregex_iterator(); ++it) {
      found.push_back(it->str());
    }
  }
  return found;
}

TEST_F(TraceMtuMplsLabTest, WithoutNumericTheAgentNamesHopsAsTracerouteDoes) {
  // r1 and the target have names, r2 and r3 none (their lookups fail at once:
  // the namespace's only name server is its own loopback).
  ASSERT_THAT(
      lab_->SetNames(kSource, absl::StrCat(Address(1, false), " r1.lab\n",
                                           Address(kTarget, false), " dst.lab\n")),
      IsOk());
  // An agent started after the names (ip netns exec mounts them at start).
  absl::StatusOr<LabAgent> named = LabAgent::Start(*lab_, kSource);
  ASSERT_THAT(named, IsOk());
  const std::string target = Address(kTarget, false);
  absl::StatusOr<RunResult> ours =
      named->Client({"traceroute", "-w", "2", "-q", "1", target}, absl::Seconds(60));
  ASSERT_THAT(ours, IsOk());
  EXPECT_EQ(ours->exit_code, 0) << ours->err;
  absl::StatusOr<RunResult> theirs = lab_->Exec(
      kSource, {kTraceroute, "-w", "2,0,0", "-q", "1", target}, absl::Seconds(60));
  ASSERT_THAT(theirs, IsOk());
  EXPECT_EQ(NamedAddresses(ours->out), NamedAddresses(theirs->out))
      << "ours:\n"
      << ours->out << "traceroute:\n"
      << theirs->out;
  EXPECT_THAT(NamedAddresses(ours->out),
              ::testing::ElementsAre(
                  absl::StrCat("r1.lab (", Address(1, false), ")"),
                  absl::StrCat(Address(2, false), " (", Address(2, false), ")"),
                  absl::StrCat(Address(3, false), " (", Address(3, false), ")"),
                  absl::StrCat("dst.lab (", target, ")")));
  absl::StatusOr<RunResult> path =
      named->Client({"tracepath", target}, absl::Seconds(60));
  ASSERT_THAT(path, IsOk());
  EXPECT_THAT(path->out, HasSubstr(" 1:  r1.lab ")) << path->out;
  EXPECT_THAT(path->out, HasSubstr(" 4:  dst.lab ")) << path->out;
  // mtr prints the name alone where there is one, as mtr does without -n.
  absl::StatusOr<RunResult> report =
      named->Client({"mtr", "-r", "-c", "3", "-i", "0.05", target}, absl::Seconds(60));
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->exit_code, 0) << report->err;
  EXPECT_THAT(report->out, HasSubstr("  1.|-- r1.lab ")) << report->out;
  EXPECT_THAT(report->out, HasSubstr(absl::StrCat("  2.|-- ", Address(2, false), " ")))
      << report->out;
  EXPECT_THAT(report->out, HasSubstr("  4.|-- dst.lab ")) << report->out;
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::testing
