// Issue 22: captures tied to a probe, at the gRPC level: the real agent in
// lab host 0 pings (and connects to) host 1 with `capture` set while another
// pinger targets the same host; the stream carries exactly the probe's own
// packets, each commented with the event it belongs to. Without CAP_NET_RAW
// the call fails naming it and nothing leaves.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/net/captured_packet.h"
#include "netprobe/v1/probes.grpc.pb.h"
#include "tests/lab/lab.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// A TCP listener on a kernel-chosen port that accepts and holds connections
// until the peer closes them; prints the port.
constexpr char kListener[] = R"(
import socket, select
s = socket.socket()
s.bind(('', 0))
s.listen(128)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    r, _, _ = select.select([s] + conns, [], [], 60)
    if not r:
        break
    for c in r:
        if c is s:
            conns.append(s.accept()[0])
        else:
            try:
                data = c.recv(100)
            except OSError:
                data = b''
            if not data:
                conns.remove(c)
                c.close()
)";

// Another client of the same host:port at the same time: argv host port.
constexpr char kOtherClient[] = R"(
import socket, sys, time
for i in range(30):
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
    except OSError:
        pass
    time.sleep(0.005)
)";

// A UDP echo server on a kernel-chosen port; prints the port.
constexpr char kEcho[] = R"(
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('', 0))
print(s.getsockname()[1], flush=True)
s.settimeout(60)
while True:
    data, peer = s.recvfrom(65536)
    s.sendto(data, peer)
)";

// Another sender to the same host:port at the same time: argv host port.
constexpr char kOtherSender[] = R"(
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(30):
    s.sendto(b'NPUE' + bytes(40), (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.005)
)";

class ProbeCaptureLabTest : public ::testing::Test {
 protected:
  static constexpr int kAgent = 0, kPeer = 1;

  void SetUp() override {
    auto lab = Lab::Create(2);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
  }
  void StartAgent(std::vector<std::string> wrapper = {}) {
    auto agent = LabAgent::Start(*lab_, kAgent, {"--enable-probe", "Capture,Throughput"},
                                 std::move(wrapper));
    ASSERT_THAT(agent, IsOk());
    agent_.emplace(*std::move(agent));
    stub_ = v1::Probes::NewStub(
        grpc::CreateChannel(agent_->address(), grpc::InsecureChannelCredentials()));
  }
  template <typename Event, typename Events, typename Request>
  grpc::Status Call(std::unique_ptr<grpc::ClientReader<Events>> (
                        v1::Probes::Stub::*method)(grpc::ClientContext*, const Request&),
                    const Request& request, std::vector<Event>* out) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto reader = (stub_.get()->*method)(&context, request);
    Events events;
    while (reader->Read(&events)) {
      for (const Event& e : events.events()) out->push_back(e);
    }
    return reader->Finish();
  }
  // ICMP echo messages the peer received (/proc/net/snmp's InEchos).
  int64_t PeerInEchos() {
    auto snmp = lab_->Exec(kPeer, {"cat", "/proc/net/snmp"});
    EXPECT_THAT(snmp, IsOk());
    if (!snmp.ok()) return -1;
    std::vector<std::string> names, values;
    for (absl::string_view line : absl::StrSplit(snmp->out, '\n')) {
      if (!absl::StartsWith(line, "Icmp: ")) continue;
      (names.empty() ? names : values) = absl::StrSplit(line, ' ');
    }
    for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
      int64_t n = 0;
      if (names[i] == "InEchos" && absl::SimpleAtoi(values[i], &n)) return n;
    }
    return -1;
  }

  // The port a python helper prints first.
  std::string Helper(int host, const std::vector<std::string>& argv) {
    auto process = lab_->Spawn(host, argv);
    EXPECT_THAT(process, IsOk());
    if (!process.ok()) return "";
    helpers_.push_back(std::make_unique<Process>(*std::move(process)));
    auto line = helpers_.back()->WaitForStdout("", absl::Seconds(10));
    EXPECT_THAT(line, IsOk());
    return line.ok() ? std::string(absl::StripAsciiWhitespace(*line)) : "";
  }

  std::unique_ptr<Lab> lab_;
  std::vector<std::unique_ptr<Process>> helpers_;
  std::optional<LabAgent> agent_;
  std::unique_ptr<v1::Probes::Stub> stub_;
};

// What the stream said of its capture, in order.
template <typename Event>
struct Captured {
  std::vector<std::string> kinds;  // "header", "packets", "stats", "other"
  v1::CaptureHeader header;
  std::vector<v1::Packet> packets;
  v1::CaptureStats stats;
  explicit Captured(const std::vector<Event>& events) {
    for (const Event& e : events) {
      if (!e.has_capture()) {
        kinds.push_back("other");
        continue;
      }
      const v1::ProbeCaptureEvent& c = e.capture();
      if (c.has_header()) {
        kinds.push_back("header");
        header = c.header();
      } else if (c.has_packets()) {
        kinds.push_back("packets");
        for (const v1::Packet& p : c.packets().packets()) packets.push_back(p);
      } else {
        kinds.push_back("stats");
        stats = c.stats();
      }
    }
  }
};

TEST_F(ProbeCaptureLabTest, PingCaptureHoldsExactlyItsPacketsWithTheirEvents) {
  StartAgent();
  const std::string target = lab_->host(kPeer).ipv4;
  // Another pinger of the same target at the same time: none of its packets
  // may appear.
  auto other = lab_->Spawn(kAgent, {"ping", "-q", "-c", "40", "-i", "0.005", target});
  ASSERT_THAT(other, IsOk());
  v1::PingRequest request;
  request.add_targets(target);
  request.set_count(5);
  request.mutable_interval()->set_nanos(20'000'000);
  request.mutable_capture();
  std::vector<v1::PingEvent> events;
  const grpc::Status status =
      Call<v1::PingEvent>(&v1::Probes::Stub::Ping, request, &events);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const Captured<v1::PingEvent> captured(events);
  ASSERT_FALSE(captured.kinds.empty());
  EXPECT_EQ(captured.kinds.front(), "header");
  EXPECT_EQ(captured.header.interface(), "any");
  EXPECT_THAT(captured.header.effective_filter(),
              HasSubstr(absl::StrCat("host ", target)));
  // The stats after the last packet, then the summary (the probe's end).
  ASSERT_GE(captured.kinds.size(), 3u);
  EXPECT_EQ(captured.kinds.back(), "other");
  EXPECT_EQ(captured.kinds[captured.kinds.size() - 2], "stats");
  ASSERT_TRUE(events.back().has_summary());
  // 5 requests and 5 replies, one identifier, each with its event.
  ASSERT_EQ(captured.packets.size(), 10u);
  std::set<uint16_t> ids;
  std::map<std::string, int> per_comment;
  for (const v1::Packet& p : captured.packets) {
    const std::optional<CapturedIp> ip = ParseCapturedIp(
        static_cast<int>(captured.header.link_type()),
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(p.data().data()),
                            p.data().size()));
    ASSERT_TRUE(ip);
    ASSERT_GE(ip->l4.size(), 8u);
    ids.insert(static_cast<uint16_t>(ip->l4[4] << 8 | ip->l4[5]));
    EXPECT_THAT(p.comment(), MatchesRegex("ping seq=[1-5] reply [0-9.]+ ms"));
    ++per_comment[p.comment()];
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(per_comment.size(), 5u);  // request and reply share their event
  EXPECT_EQ(captured.stats.delivered(), 10u);
  EXPECT_EQ(captured.stats.agent_dropped(), 0u);
}

TEST_F(ProbeCaptureLabTest, TcpCaptureHoldsExactlyItsConnectionsWithTheirEvents) {
  StartAgent();
  const std::string host = lab_->host(kPeer).ipv4;
  const std::string port = Helper(kPeer, {kPython, "-c", kListener});
  ASSERT_FALSE(port.empty());
  auto other = lab_->Spawn(kAgent, {kPython, "-c", kOtherClient, host, port});
  ASSERT_THAT(other, IsOk());
  v1::TcpConnectRequest request;
  const std::string open = absl::StrCat(host, ":", port),
                    closed = absl::StrCat(host, ":1");
  request.add_targets(open);
  request.add_targets(closed);
  request.set_count(2);
  request.mutable_interval()->set_nanos(20'000'000);
  request.mutable_capture();
  std::vector<v1::TcpConnectEvent> events;
  const grpc::Status status =
      Call<v1::TcpConnectEvent>(&v1::Probes::Stub::TcpConnect, request, &events);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::set<uint32_t> our_ports;  // of the connected attempts
  for (const v1::TcpConnectEvent& e : events) {
    if (e.has_attempt() && e.attempt().result().outcome() == v1::OUTCOME_OK) {
      our_ports.insert(e.attempt().local_port());
    }
  }
  ASSERT_EQ(our_ports.size(), 2u);
  const Captured<v1::TcpConnectEvent> captured(events);
  ASSERT_FALSE(captured.kinds.empty());
  EXPECT_EQ(captured.kinds.front(), "header");
  EXPECT_EQ(captured.kinds[captured.kinds.size() - 3], "stats");  // then 2 summaries
  std::map<std::string, int> per_comment;
  for (const v1::Packet& p : captured.packets) {
    const std::optional<CapturedIp> ip = ParseCapturedIp(
        static_cast<int>(captured.header.link_type()),
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(p.data().data()),
                            p.data().size()));
    ASSERT_TRUE(ip);
    const std::optional<CapturedFlow> flow = ParseCapturedFlow(*ip, IPPROTO_TCP);
    ASSERT_TRUE(flow);
    const bool outgoing = flow->destination.ip() == host;
    const uint16_t remote = outgoing ? flow->destination.port() : flow->source.port();
    const uint16_t local = outgoing ? flow->source.port() : flow->destination.port();
    if (absl::StrCat(remote) == port) {
      EXPECT_TRUE(our_ports.count(local)) << local << " is not one of the probe's ports";
      EXPECT_THAT(p.comment(),
                  MatchesRegex(absl::StrCat("tcp ", host, ":", port,
                                            " attempt [12] connected [0-9.]+ ms")));
    } else {
      EXPECT_EQ(remote, 1);
      EXPECT_THAT(p.comment(),
                  MatchesRegex(absl::StrCat("tcp ", host, ":1 attempt [12] refused")));
    }
    ++per_comment[p.comment()];
  }
  // Each connect: SYN, SYN-ACK, ACK (and its close); each refusal: SYN, RST.
  ASSERT_EQ(per_comment.size(), 4u);
  for (const auto& [comment, n] : per_comment) {
    EXPECT_GE(n, absl::StrContains(comment, "refused") ? 2 : 3) << comment;
    if (absl::StrContains(comment, "refused")) EXPECT_EQ(n, 2) << comment;
  }
  EXPECT_EQ(captured.stats.agent_dropped(), 0u);
  EXPECT_EQ(captured.stats.delivered(), captured.packets.size());
}

TEST_F(ProbeCaptureLabTest, UdpEchoCaptureHoldsExactlyItsDatagramsWithTheirEvents) {
  StartAgent();
  const std::string host = lab_->host(kPeer).ipv4;
  const std::string port = Helper(kPeer, {kPython, "-c", kEcho});
  ASSERT_FALSE(port.empty());
  auto other = lab_->Spawn(kAgent, {kPython, "-c", kOtherSender, host, port});
  ASSERT_THAT(other, IsOk());
  v1::UdpEchoRequest request;
  request.set_target(absl::StrCat(host, ":", port));
  request.set_count(3);
  request.mutable_interval()->set_nanos(20'000'000);
  request.mutable_capture()->set_snaplen(96);
  std::vector<v1::UdpEchoEvent> events;
  const grpc::Status status =
      Call<v1::UdpEchoEvent>(&v1::Probes::Stub::UdpEcho, request, &events);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const Captured<v1::UdpEchoEvent> captured(events);
  ASSERT_FALSE(captured.kinds.empty());
  EXPECT_EQ(captured.kinds.front(), "header");
  EXPECT_EQ(captured.header.snaplen(), 96u);
  ASSERT_EQ(captured.packets.size(), 6u);  // 3 datagrams, 3 echoes
  std::set<uint16_t> local_ports;
  std::map<std::string, int> per_comment;
  for (const v1::Packet& p : captured.packets) {
    const std::optional<CapturedIp> ip = ParseCapturedIp(
        static_cast<int>(captured.header.link_type()),
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(p.data().data()),
                            p.data().size()));
    ASSERT_TRUE(ip);
    const std::optional<CapturedFlow> flow = ParseCapturedFlow(*ip, IPPROTO_UDP);
    ASSERT_TRUE(flow);
    local_ports.insert(flow->destination.ip() == host ? flow->source.port()
                                                      : flow->destination.port());
    EXPECT_THAT(p.comment(), MatchesRegex("udp seq=[1-3] echo [0-9.]+ ms"));
    ++per_comment[p.comment()];
  }
  EXPECT_EQ(local_ports.size(), 1u);
  EXPECT_EQ(per_comment.size(), 3u);
  EXPECT_EQ(captured.stats.delivered(), 6u);
}

// Through a router: the probes, the router's time exceeded and the target's
// port unreachable, each commented with its TTL and probe.
TEST(ProbeCaptureRoutedLabTest, TracerouteCaptureHoldsItsProbesAndTheirAnswers) {
  auto lab = Lab::CreateRouted();
  ASSERT_THAT(lab, IsOk());
  auto agent = LabAgent::Start(**lab, 0, {"--enable-probe", "Capture"});
  ASSERT_THAT(agent, IsOk());
  auto stub = v1::Probes::NewStub(
      grpc::CreateChannel(agent->address(), grpc::InsecureChannelCredentials()));
  const std::string far = (*lab)->host(2).ipv4, router = (*lab)->host(1).ipv4;
  for (const v1::TracerouteMethod method :
       {v1::TRACEROUTE_METHOD_UDP, v1::TRACEROUTE_METHOD_ICMP,
        v1::TRACEROUTE_METHOD_TCP}) {
    SCOPED_TRACE(v1::TracerouteMethod_Name(method));
    v1::TracerouteRequest request;
    request.set_target(far);
    request.set_method(method);
    request.set_max_ttl(4);
    request.set_probes_per_hop(2);
    request.mutable_wait()->set_nanos(500'000'000);
    request.mutable_capture();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto reader = stub->Traceroute(&context, request);
    std::vector<v1::TracerouteEvent> events;
    v1::TracerouteEvents batch;
    while (reader->Read(&batch)) {
      for (const auto& e : batch.events()) events.push_back(e);
    }
    const grpc::Status status = reader->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    const Captured<v1::TracerouteEvent> captured(events);
    ASSERT_FALSE(captured.kinds.empty());
    EXPECT_EQ(captured.kinds.front(), "header");
    // TTL 1: 2 probes and 2 time exceeded from the router; TTL 2: 2 probes
    // and the target's 2 answers; TTLs 3 and 4 may have left before the
    // trace ended at 2 (all TTLs of a round go at once), with their answers.
    std::map<std::string, int> per_comment;
    for (const v1::Packet& p : captured.packets) ++per_comment[p.comment()];
    for (int probe = 1; probe <= 2; ++probe) {
      int ttl1 = 0, ttl2 = 0;
      for (const auto& [comment, n] : per_comment) {
        if (absl::StartsWith(comment, absl::StrCat("traceroute ttl=1 probe ", probe,
                                                   " reply from ", router, " "))) {
          ttl1 += n;
        }
        if (absl::StartsWith(comment,
                             absl::StrCat("traceroute ttl=2 probe ", probe, " ")) &&
            absl::StrContains(comment, "(the target)")) {
          ttl2 += n;
        }
      }
      EXPECT_EQ(ttl1, 2) << "probe " << probe << ::testing::PrintToString(per_comment);
      EXPECT_EQ(ttl2, 2) << "probe " << probe;
    }
    for (const v1::Packet& p : captured.packets) {
      EXPECT_THAT(p.comment(), MatchesRegex("traceroute ttl=[1-4] probe [12] .+"));
    }
    EXPECT_EQ(captured.stats.agent_dropped(), 0u);
  }
}

// A 1 MB iperf3 test: the control connection's and the data stream's
// packets, their headers only (the default snaplen 128).
TEST_F(ProbeCaptureLabTest, ThroughputCaptureHoldsItsConnectionsHeadersOnly) {
  StartAgent();
  auto server =
      lab_->Spawn(kPeer, {"/usr/bin/iperf3", "-s", "-1", "-p", "5201", "--forceflush"});
  ASSERT_THAT(server, IsOk());
  ASSERT_THAT(server->WaitForStdout("Server listening", absl::Seconds(10)), IsOk());
  v1::ThroughputRequest request;
  request.set_target(lab_->host(kPeer).ipv4);
  request.set_bytes(1 << 20);
  request.mutable_capture();
  std::vector<v1::ThroughputEvent> events;
  const grpc::Status status =
      Call<v1::ThroughputEvent>(&v1::Probes::Stub::Throughput, request, &events);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const Captured<v1::ThroughputEvent> captured(events);
  ASSERT_FALSE(captured.kinds.empty());
  EXPECT_EQ(captured.kinds.front(), "header");
  EXPECT_EQ(captured.header.snaplen(), 128u);
  std::map<std::string, int> per_comment;
  for (const v1::Packet& p : captured.packets) {
    EXPECT_LE(p.captured_length(), 128u);
    ++per_comment[p.comment()];
  }
  EXPECT_GE(per_comment["throughput control"], 6);         // its handshake, the exchange
  EXPECT_GE(per_comment["throughput stream 1 data"], 20);  // 1 MB in <= 64 KB segments
  EXPECT_EQ(per_comment.size(), 2u);
  EXPECT_EQ(captured.stats.delivered(), captured.packets.size());
}

TEST_F(ProbeCaptureLabTest, WithoutCapNetRawThePingFailsNamingItAndSendsNothing) {
  // Ping itself could run from an ICMP datagram socket: only the capture
  // lacks what it needs.
  auto sysctl =
      lab_->Exec(kAgent, {"sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"});
  ASSERT_THAT(sysctl, IsOk());
  StartAgent({"capsh", "--drop=cap_net_raw", "--"});
  const int64_t before = PeerInEchos();
  v1::PingRequest request;
  request.add_targets(lab_->host(kPeer).ipv4);
  request.set_count(3);
  request.mutable_interval()->set_nanos(10'000'000);
  request.mutable_capture();
  std::vector<v1::PingEvent> events;
  const grpc::Status status =
      Call<v1::PingEvent>(&v1::Probes::Stub::Ping, request, &events);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("CAP_NET_RAW"));
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(PeerInEchos(), before);
  // The same ping without a capture runs.
  request.clear_capture();
  events.clear();
  EXPECT_TRUE(Call<v1::PingEvent>(&v1::Probes::Stub::Ping, request, &events).ok());
  EXPECT_EQ(PeerInEchos(), before + 3);
}

}  // namespace
}  // namespace netprobe::testing
