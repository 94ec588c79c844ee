// Traceroute end to end: the real agent at the start of a chain of three
// routers traces to the host at its end, through the real client, and
// Debian's traceroute -n, run in the agent's namespace on the same lab, must
// list the same hops in the same order; a router whose time-exceeded
// messages nftables drops is "* * *" for both. TCP SYN probes (-T) to an
// open and a closed port of the target equal `traceroute -T -n`'s.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "netprobe/v1/traceroute.pb.h"
#include "tests/lab/lab.h"
#include "tests/lab/netns_socket.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {
namespace NETPROBE_UNITY_ID {

// One line of `traceroute -n` (or ours): the TTL, the addresses that
// answered in the order printed, and the probes that timed out.
struct HopLine {
  int ttl = 0;
  std::vector<std::string> addresses;
  int stars = 0;
  std::vector<std::string> marks;  // "!H", "!N", "!X" ...
  bool operator==(const HopLine&) const = default;
};

void PrintTo(const HopLine& hop, std::ostream* os) {
  *os << hop.ttl << " [" << absl::StrJoin(hop.addresses, " ") << "] *x" << hop.stars
      << " " << absl::StrJoin(hop.marks, " ");
}

bool IsAddress(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

// The hop lines of a traceroute's output (the header and anything else that
// does not start with a TTL is skipped).
std::vector<HopLine> HopLines(const std::string& out) {
  std::vector<HopLine> hops;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    HopLine hop;
    if (words.empty() || !absl::SimpleAtoi(words[0], &hop.ttl)) continue;
    for (size_t i = 1; i < words.size(); ++i) {
      if (words[i] == "*") ++hop.stars;
      if (words[i].starts_with("!")) hop.marks.push_back(words[i]);
      if (IsAddress(words[i]) &&
          (hop.addresses.empty() || hop.addresses.back() != words[i])) {
        hop.addresses.push_back(words[i]);
      }
    }
    hops.push_back(std::move(hop));
  }
  return hops;
}

class TracerouteLabTest : public ::testing::Test {
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

  // Ours and Debian's, with the same method and family, each probe waiting
  // up to 2 s (traceroute: no shorter waits derived from other answers).
  // `target` empty: the chain's target; `max_hops` and `queries` 0: the
  // defaults (30 and 3).
  void ExpectSameHops(bool v6, bool icmp, const std::vector<HopLine>& want,
                      std::string target = "", int max_hops = 0, int queries = 0) {
    ExpectSameHopsWith(v6,
                       icmp ? std::vector<std::string>{"-I"} : std::vector<std::string>{},
                       v6 ? 80 : 60, want, std::move(target), max_hops, queries);
  }

  // TCP SYN probes (-T) to `port` of the chain's target: headers-only SYNs
  // (ours: 44 / 64 bytes; traceroute's header counts its own options).
  void ExpectSameTcpHops(bool v6, uint16_t port, const std::vector<HopLine>& want) {
    ExpectSameHopsWith(v6, {"-T", "-p", absl::StrCat(port)}, v6 ? 64 : 44, want);
  }

  // The same with `method_args` for both tools and our header's packet size.
  void ExpectSameHopsWith(bool v6, const std::vector<std::string>& method_args,
                          int packet_bytes, const std::vector<HopLine>& want,
                          std::string target = "", int max_hops = 0, int queries = 0) {
    SCOPED_TRACE(absl::StrCat(v6 ? "IPv6 " : "IPv4 ", absl::StrJoin(method_args, " "),
                              " ", target));
    const bool to_chain_target = target.empty();
    if (to_chain_target) target = Address(kTarget, v6);
    std::vector<std::string> ours = {"traceroute", "-n", "-w", "2"};
    std::vector<std::string> theirs = {kTraceroute, "-n", "-w", "2,0,0"};
    for (auto* args : {&ours, &theirs}) {
      args->insert(args->end(), method_args.begin(), method_args.end());
      if (v6) args->push_back("-6");
      if (max_hops != 0) {
        args->push_back("-m");
        args->push_back(absl::StrCat(max_hops));
      }
      if (queries != 0) {
        args->push_back("-q");
        args->push_back(absl::StrCat(queries));
      }
      args->push_back(target);
    }
    absl::StatusOr<RunResult> our_run = agent_->Client(ours, absl::Seconds(60));
    ASSERT_THAT(our_run, IsOk());
    // 0 when the target answered, else 1 (the probe ran, the target never
    // answered), as ping.
    EXPECT_EQ(our_run->exit_code, to_chain_target ? 0 : 1) << our_run->err;
    absl::StatusOr<RunResult> their_run = lab_->Exec(kSource, theirs, absl::Seconds(60));
    ASSERT_THAT(their_run, IsOk());
    ASSERT_EQ(their_run->exit_code, 0) << their_run->err;
    EXPECT_THAT(our_run->out, ::testing::StartsWith(absl::StrCat(
                                  "traceroute to ", target, " (", target, "), ",
                                  max_hops != 0 ? max_hops : 30, " hops max, ",
                                  packet_bytes, " byte packets\n")));
    EXPECT_EQ(HopLines(our_run->out), HopLines(their_run->out))
        << "ours:\n"
        << our_run->out << "traceroute -n:\n"
        << their_run->out;
    EXPECT_EQ(HopLines(our_run->out), want) << our_run->out;
  }

  // The chain as it should show: router r's address toward us, then the
  // target; `silent` (a router) answers nothing.
  std::vector<HopLine> Chain(bool v6, int silent = 0) const {
    std::vector<HopLine> hops;
    for (int host = 1; host <= kTarget; ++host) {
      HopLine hop{.ttl = host};
      if (host == silent) {
        hop.stars = 3;
      } else {
        hop.addresses = {Address(host, v6)};
      }
      hops.push_back(hop);
    }
    return hops;
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<LabAgent> agent_;
};

TEST_F(TracerouteLabTest, HopsEqualTracerouteOverUdpAndIcmpV4AndV6) {
  for (bool v6 : {false, true}) {
    for (bool icmp : {false, true}) ExpectSameHops(v6, icmp, Chain(v6));
  }
}

constexpr char kDropTimeExceeded[] =
    "table inet lab {\n chain output {\n"
    "  type filter hook output priority 0; policy accept;\n"
    "  icmp type time-exceeded drop\n"
    "  icmpv6 type time-exceeded drop\n }\n}\n";

TEST_F(TracerouteLabTest, RouterWhoseTimeExceededIsDroppedShowsAsStars) {
  ASSERT_THAT(lab_->Nft(2, kDropTimeExceeded), IsOk());
  ExpectSameHops(false, false, Chain(false, 2));
  ExpectSameHops(false, true, Chain(false, 2));
  ExpectSameHops(true, false, Chain(true, 2));
}

// -T: each round waits for the silent hop's timeouts (see
// TracerouteProbe::MaySend), and the trace still ends at the target. (A test
// of its own: ctest runs it beside the one above.)
TEST_F(TracerouteLabTest, TcpSynPastARouterWhoseTimeExceededIsDroppedShowsAsStars) {
  ASSERT_THAT(lab_->Nft(2, kDropTimeExceeded), IsOk());
  auto open = ListenTcpInNetns(lab_->host(kTarget).netns);
  ASSERT_THAT(open, IsOk());
  ExpectSameTcpHops(false, open->port, Chain(false, 2));
}

// Routes on the second router that refuse (unreachable, prohibit) end the
// trace there with traceroute's marks; a blackhole is silence. Each kind has
// its own prefix beyond the chain. The router's IPv4 unreachables come from
// ip_error(), which allows a burst of 5 per source and then 1 a second
// (net.ipv4.route.error_burst and error_cost, not per namespace, so the lab
// leaves them): each refused IPv4 trace sends one probe per hop and stops at
// TTL 2 (every TTL beyond the router would draw an unreachable too: all
// TTLs in flight at once spend the router's budget), 2 traces x 2 tools, all
// within the burst. IPv6's (net.ipv6.icmp.ratelimit) are not
// limited in the lab.
TEST_F(TracerouteLabTest, UnreachableRoutesShowTracerouteMarks) {
  const std::string& r2 = lab_->host(2).netns;
  struct Route {
    const char* type;
    int net;  // 198.18.<net>.0/24, 2001:2:0:<net>::/64
  };
  for (const Route& route :
       {Route{"unreachable", 10}, Route{"prohibit", 11}, Route{"blackhole", 12}}) {
    ASSERT_THAT(Ip({"-n", r2, "route", "add", route.type,
                    absl::StrCat("198.18.", route.net, ".0/24")}),
                IsOk());
    ASSERT_THAT(Ip({"-n", r2, "-6", "route", "add", route.type,
                    absl::StrCat("2001:2:0:", route.net, "::/64")}),
                IsOk());
  }
  auto refused = [&](bool v6, std::vector<std::string> marks) {
    std::vector<HopLine> hops = {HopLine{.ttl = 1, .addresses = {Address(1, v6)}},
                                 HopLine{.ttl = 2, .addresses = {Address(2, v6)}}};
    hops[1].marks = std::move(marks);
    return hops;
  };
  ExpectSameHops(false, false, refused(false, {"!H"}), "198.18.10.1", 2, 1);
  ExpectSameHops(false, true, refused(false, {"!X"}), "198.18.11.1", 2, 1);
  ExpectSameHops(true, false, refused(true, {"!N", "!N", "!N"}), "2001:2:0:10::1");
  ExpectSameHops(true, false, refused(true, {"!X", "!X", "!X"}), "2001:2:0:11::1");
  const std::vector<HopLine> silent = {
      HopLine{.ttl = 1, .addresses = {Address(1, false)}},
      HopLine{.ttl = 2, .stars = 3},
      HopLine{.ttl = 3, .stars = 3},
  };
  ExpectSameHops(false, false, silent, "198.18.12.1", 3);
}

// The JSON stream: one event per probe with one flow id (the UDP source
// port: a Paris path), kernel RTTs, per-hop statistics, the summary.
TEST_F(TracerouteLabTest, JsonEventsKeepOneFlowAndEndWithHopStatistics) {
  absl::StatusOr<RunResult> run = agent_->Client(
      {"--json", "traceroute", "-n", "-q", "4", "-w", "2", Address(kTarget, false)},
      absl::Seconds(60));
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ(run->exit_code, 0) << run->err;
  std::vector<v1::TracerouteReply> replies;
  std::vector<v1::TracerouteHop> hops;
  std::vector<v1::TracerouteSummary> summaries;
  for (absl::string_view line : absl::StrSplit(run->out, '\n', absl::SkipEmpty())) {
    v1::TracerouteEvent event;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(std::string(line), &event).ok())
        << line;
    if (event.has_reply()) replies.push_back(event.reply());
    if (event.has_hop()) hops.push_back(event.hop());
    if (event.has_summary()) summaries.push_back(event.summary());
  }
  ASSERT_EQ(replies.size(), 4u * kTarget) << run->out;
  std::set<uint32_t> flow_ids;
  for (const v1::TracerouteReply& reply : replies) {
    flow_ids.insert(reply.flow_id());
    EXPECT_GT(reply.rtt().nanos() + reply.rtt().seconds(), 0) << reply.ShortDebugString();
    const bool last = reply.ttl() == static_cast<uint32_t>(kTarget);
    EXPECT_EQ(reply.reached(), last);
    EXPECT_EQ(reply.result().outcome(),
              last ? v1::OUTCOME_REFUSED : v1::OUTCOME_TIME_EXCEEDED);
    EXPECT_EQ(reply.address(), Address(reply.ttl(), false));
  }
  EXPECT_EQ(flow_ids.size(), 1u);
  EXPECT_NE(*flow_ids.begin(), 0u);
  ASSERT_EQ(hops.size(), static_cast<size_t>(kTarget));
  for (const v1::TracerouteHop& hop : hops) {
    EXPECT_EQ(hop.sent(), 4u);
    EXPECT_EQ(hop.received(), 4u);
    EXPECT_EQ(hop.loss_percent(), 0);
    EXPECT_EQ(hop.rtt().count(), 4u);
    EXPECT_THAT(hop.addresses(), ::testing::ElementsAre(Address(hop.ttl(), false)));
  }
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].reached_ttl(), static_cast<uint32_t>(kTarget));
}

// The replies of a --json traceroute run.
std::vector<v1::TracerouteReply> JsonReplies(const absl::StatusOr<RunResult>& run) {
  std::vector<v1::TracerouteReply> replies;
  EXPECT_THAT(run, IsOk());
  if (!run.ok()) return replies;
  EXPECT_EQ(run->exit_code, 0) << run->err;
  for (absl::string_view line : absl::StrSplit(run->out, '\n', absl::SkipEmpty())) {
    v1::TracerouteEvent event;
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(std::string(line), &event).ok())
        << line;
    if (event.has_reply()) replies.push_back(event.reply());
  }
  return replies;
}

// traceroute -T: SYNs to a port of the target, bound to 0 there and
// listening (SYN-ACK: open) or closed again (RST), over IPv4 and IPv6: the
// hops equal Debian's `traceroute -T -n`, ending at the target.
TEST_F(TracerouteLabTest, TcpSynHopsEqualTracerouteTToOpenAndClosedPorts) {
  auto open = ListenTcpInNetns(lab_->host(kTarget).netns);
  auto closed = ListenTcpInNetns(lab_->host(kTarget).netns);
  ASSERT_THAT(open, IsOk());
  ASSERT_THAT(closed, IsOk());
  closed->fd.reset();  // nobody listens there any more: RST
  for (bool v6 : {false, true}) {
    ExpectSameTcpHops(v6, open->port, Chain(v6));
    ExpectSameTcpHops(v6, closed->port, Chain(v6));
  }
}

// The JSON of -T: every probe at the target's TTL is answered by the target,
// SYN-ACK (OK) for the open port, RST (REFUSED) for the closed one, although
// our kernel answers each SYN-ACK with RST and a flow's SYNs share one
// 4-tuple; the routers' time exceeded match their SYNs by the quoted TCP
// header. With --flows 8 each flow keeps one source port (its flow_id), all
// 8 differ.
TEST_F(TracerouteLabTest, TcpSynFlowsKeepTheirSourcePortAndTellOpenFromClosed) {
  auto open = ListenTcpInNetns(lab_->host(kTarget).netns);
  auto closed = ListenTcpInNetns(lab_->host(kTarget).netns);
  ASSERT_THAT(open, IsOk());
  ASSERT_THAT(closed, IsOk());
  closed->fd.reset();
  for (bool v6 : {false, true}) {
    for (const bool is_open : {true, false}) {
      SCOPED_TRACE(absl::StrCat(v6 ? "IPv6 " : "IPv4 ", is_open ? "open" : "closed"));
      const uint16_t port = is_open ? open->port : closed->port;
      absl::StatusOr<RunResult> run = agent_->Client(
          {"--json", "traceroute", "-n", "-T", "-p", absl::StrCat(port), "--flows", "8",
           "-q", "2", "-w", "2", v6 ? "-6" : "-4", Address(kTarget, v6)},
          absl::Seconds(60));
      const std::vector<v1::TracerouteReply> replies = JsonReplies(run);
      ASSERT_EQ(replies.size(), 8u * 2 * kTarget) << (run.ok() ? run->out : "");
      std::map<uint32_t, std::set<uint32_t>> ports;  // by flow
      for (const v1::TracerouteReply& reply : replies) {
        ports[reply.flow()].insert(reply.flow_id());
        const bool last = reply.ttl() == static_cast<uint32_t>(kTarget);
        EXPECT_EQ(reply.address(), Address(reply.ttl(), v6)) << reply.ShortDebugString();
        EXPECT_EQ(reply.reached(), last) << reply.ShortDebugString();
        EXPECT_EQ(reply.result().outcome(), !last     ? v1::OUTCOME_TIME_EXCEEDED
                                            : is_open ? v1::OUTCOME_OK
                                                      : v1::OUTCOME_REFUSED)
            << reply.ShortDebugString();
        EXPECT_EQ(reply.packet_length(), v6 ? 64u : 44u);
      }
      ASSERT_EQ(ports.size(), 8u);
      std::set<uint32_t> all;
      for (const auto& [flow, flow_ports] : ports) {
        ASSERT_EQ(flow_ports.size(), 1u) << "flow " << flow;
        EXPECT_NE(*flow_ports.begin(), 0u);
        EXPECT_NE(*flow_ports.begin(), port);
        all.insert(*flow_ports.begin());
      }
      EXPECT_EQ(all.size(), 8u);
    }
  }
}

// An ECMP diamond (Lab::CreateDiamond): the first router hashes flows (L4)
// over two middle routers.
class TracerouteDiamondLabTest : public ::testing::Test {
 protected:
  static constexpr int kM1 = 2, kM2 = 3, kTarget = 5;

  void SetUp() override {
    auto lab = Lab::CreateDiamond();
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    auto agent = LabAgent::Start(*lab_, 0);
    ASSERT_THAT(agent, IsOk());
    agent_ = std::make_unique<LabAgent>(*std::move(agent));
  }

  // The addresses seen at TTL 2, by flow.
  std::map<uint32_t, std::set<std::string>> MiddleHops(std::vector<std::string> args) {
    args.insert(args.begin(), {"--json", "traceroute", "-n", "-w", "2"});
    args.push_back(lab_->host(kTarget).ipv4);
    std::map<uint32_t, std::set<std::string>> out;
    for (const v1::TracerouteReply& reply : JsonReplies(agent_->Client(args))) {
      if (reply.ttl() == 2) out[reply.flow()].insert(reply.address());
      if (reply.ttl() == 4) EXPECT_TRUE(reply.reached()) << reply.ShortDebugString();
    }
    return out;
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<LabAgent> agent_;
};

// Paris: one flow's probes all take one branch, whichever, over many probes
// (traceroute's changing ports would spread them over both). Linux hashes
// ICMP by its addresses alone, so for -I this holds whatever the checksum.
// -T: one source port per flow (traceroute -T takes a new one per probe), to
// a listening port of the target.
TEST_F(TracerouteDiamondLabTest, OneFlowCrossesOneMiddleRouter) {
  auto listener = ListenTcpInNetns(lab_->host(kTarget).netns);
  ASSERT_THAT(listener, IsOk());
  const std::string port = absl::StrCat(listener->port);
  for (const std::vector<std::string>& method :
       {std::vector<std::string>{"-U"}, {"-I"}, {"-T", "-p", port}}) {
    SCOPED_TRACE(method[0]);
    std::vector<std::string> args = method;
    args.insert(args.end(), {"-q", "10"});
    const auto hops = MiddleHops(args);
    ASSERT_EQ(hops.size(), 1u);
    ASSERT_EQ(hops.begin()->second.size(), 1u);
    EXPECT_THAT(*hops.begin()->second.begin(),
                ::testing::AnyOf(lab_->host(kM1).ipv4, lab_->host(kM2).ipv4));
  }
}

// Many flows find both branches: 16 UDP or TCP flows (16 source ports) all
// hashed to one branch has a probability of 2^-15; each flow stays on its own.
TEST_F(TracerouteDiamondLabTest, SixteenFlowsFindBothMiddleRouters) {
  auto listener = ListenTcpInNetns(lab_->host(kTarget).netns);
  ASSERT_THAT(listener, IsOk());
  for (const std::vector<std::string>& method :
       {std::vector<std::string>{"-U"}, {"-T", "-p", absl::StrCat(listener->port)}}) {
    SCOPED_TRACE(method[0]);
    std::vector<std::string> args = method;
    args.insert(args.end(), {"--flows", "16", "-q", "2"});
    const auto hops = MiddleHops(args);
    ASSERT_EQ(hops.size(), 16u);
    std::set<std::string> all;
    for (const auto& [flow, addresses] : hops) {
      EXPECT_EQ(addresses.size(), 1u) << "flow " << flow;
      all.insert(addresses.begin(), addresses.end());
    }
    EXPECT_THAT(all, ::testing::ElementsAre(lab_->host(kM1).ipv4, lab_->host(kM2).ipv4));
  }
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::testing

namespace netprobe::testing {
namespace {
namespace NETPROBE_UNITY_ID {

// The IPv6 header of each probe the source sent, as `tcpdump -v` prints it
// on the first router's eth0 (every probe passes there, whatever its hop
// limit) while `run` runs: one line per packet. `protocol` is the probes'
// protocol ("udp", "icmp6": echo requests, "tcp": SYNs, not the RSTs the
// source's kernel answers SYN-ACKs with, which carry its own labels). After `run` the
// test sends one echo request of 1,000 bytes (a size no probe has); once tcpdump has
// printed it every earlier packet has been printed too, and it is left out.
std::vector<std::string> ProbeHeadersDuring(Lab& lab, int source, int router,
                                            const std::string& protocol,
                                            const std::function<void()>& run) {
  std::vector<std::string> headers;
  auto tcpdump = lab.Spawn(
      router, {"tcpdump", "-i", "eth0", "-n", "-l", "-v",
               absl::StrCat("ip6 and src host ", lab.host(source).ipv6, " and ",
                            protocol == "icmp6" ? "(icmp6 and ip6[40] == 128)"
                            : protocol == "tcp" ? "(tcp and ip6[53] & 0x12 == 0x02)"
                                                : protocol,
                            " or (icmp6 and ip6[40] == 128 and ip6[4:2] == 1008)")});
  EXPECT_THAT(tcpdump, IsOk());
  if (!tcpdump.ok()) return headers;
  EXPECT_THAT(tcpdump->WaitForStderr("listening on", absl::Seconds(10)), IsOk());
  run();
  constexpr char kMarker[] = "payload length: 1008";
  auto marker = lab.Exec(
      source, {"ping", "-6", "-c", "1", "-W", "5", "-s", "1000", lab.host(router).ipv6});
  EXPECT_THAT(marker, IsOk());
  EXPECT_THAT(tcpdump->WaitForStdout(kMarker, absl::Seconds(10)), IsOk());
  tcpdump->Signal(SIGINT);
  EXPECT_THAT(tcpdump->Wait(absl::Seconds(10)), IsOk());
  for (absl::string_view line : absl::StrSplit(tcpdump->out(), '\n')) {
    if (absl::StrContains(line, " IP6 (") && !absl::StrContains(line, kMarker)) {
      headers.emplace_back(line);
    }
  }
  return headers;
}

// --flow-label / -l: every IPv6 probe of the UDP, ICMP and TCP methods
// carries the label (tcpdump prints "flowlabel 0x03039" for 12345); without
// it every probe carries none (tcpdump prints no flowlabel for 0), although
// the kernel's automatic labels are on in the lab (net.ipv6.auto_flowlabels
// 1): one constant label, 0, within the flow.
TEST_F(TracerouteLabTest, FlowLabelIsOnEveryIpv6Probe) {
  auto open = ListenTcpInNetns(lab_->host(kTarget).netns);
  ASSERT_THAT(open, IsOk());
  const std::string target = Address(kTarget, true);
  const struct {
    const char* protocol;
    std::vector<std::string> method;
  } methods[] = {
      {"udp", {}},
      {"icmp6", {"-I"}},
      {"tcp", {"-T", "-p", absl::StrCat(open->port)}},
  };
  for (const auto& m : methods) {
    for (const bool labelled : {true, false}) {
      SCOPED_TRACE(
          absl::StrCat(m.protocol, labelled ? " --flow-label 12345" : " no label"));
      std::vector<std::string> args = {"--json", "traceroute", "-n", "-6",
                                       "-q",     "2",          "-w", "2"};
      args.insert(args.end(), m.method.begin(), m.method.end());
      if (labelled) {
        // The long flag for UDP, traceroute's -l for the others.
        args.push_back(std::string(m.protocol) == "udp" ? "--flow-label" : "-l");
        args.push_back("12345");
      }
      args.push_back(target);
      absl::StatusOr<RunResult> run;
      const std::vector<std::string> headers =
          ProbeHeadersDuring(*lab_, kSource, 1, m.protocol,
                             [&] { run = agent_->Client(args, absl::Seconds(60)); });
      ASSERT_THAT(run, IsOk());
      EXPECT_EQ(run->exit_code, 0) << run->err;
      // 2 probes for each of the 4 hops at least.
      EXPECT_GE(headers.size(), 2u * kTarget) << run->out;
      for (const std::string& header : headers) {
        if (labelled) {
          EXPECT_THAT(header, ::testing::HasSubstr("flowlabel 0x03039,"));
        } else {
          EXPECT_THAT(header, ::testing::Not(::testing::HasSubstr("flowlabel")));
        }
      }
    }
  }
}

// With net.ipv6.flowlabel_state_ranges 1 in the agent's namespace the kernel
// leases no label from 0x80000: the trace is refused, naming the field, the
// limit and the sysctl, before any probe; 0x7ffff still goes.
TEST_F(TracerouteLabTest, FlowLabelInTheStatelessRangeIsRefusedWhenTheHostSplitsIt) {
  auto sysctl =
      lab_->Exec(kSource, {"sysctl", "-w", "net.ipv6.flowlabel_state_ranges=1"});
  ASSERT_THAT(sysctl, IsOk());
  ASSERT_EQ(sysctl->exit_code, 0) << sysctl->err;
  absl::StatusOr<RunResult> refused =
      agent_->Client({"traceroute", "-n", "-6", "-q", "1", "-w", "2", "--flow-label",
                      "524288", Address(kTarget, true)},
                     absl::Seconds(60));
  ASSERT_THAT(refused, IsOk());
  EXPECT_NE(refused->exit_code, 0);
  EXPECT_THAT(refused->err,
              ::testing::AllOf(::testing::HasSubstr("flow_label: 524288"),
                               ::testing::HasSubstr("524287"),
                               ::testing::HasSubstr("flowlabel_state_ranges")));
  absl::StatusOr<RunResult> allowed =
      agent_->Client({"traceroute", "-n", "-6", "-q", "1", "-w", "2", "--flow-label",
                      "524287", Address(kTarget, true)},
                     absl::Seconds(60));
  ASSERT_THAT(allowed, IsOk());
  EXPECT_EQ(allowed->exit_code, 0) << allowed->err;
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::testing
