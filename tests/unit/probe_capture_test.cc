// Issue 22: the capture of a probe's own packets: the shared core (joins
// packets with the probe's events, bounds, drain, closing), the link/IP
// parser, ping's filter and classifier, and the option's validation. A fake
// pcap handle and a fake clock; fixed byte arrays.
#include "agent/probes/probe_capture.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "agent/net/captured_packet.h"
#include "agent/net/icmp.h"
#include "agent/net/socket_opener.h"
#include "agent/net/unique_fd.h"
#include "agent/probes/flow_capture.h"
#include "agent/probes/ping_capture.h"
#include "agent/probes/ping_probe.h"
#include "agent/probes/ping_request.h"
#include "agent/probes/tcp_connect_request.h"
#include "agent/probes/throughput_request.h"
#include "agent/probes/traceroute_request.h"
#include "agent/probes/udp_echo_request.h"
#include "agent/schedule/probe_request.h"
#include "tests/test_support/drain_pool.h"
#include "tests/test_support/fake_clock.h"
#include "tests/test_support/fake_sockets.h"
#include "tests/test_support/recording_sink.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using testing::FakeClock;
using ::testing::HasSubstr;
using testing::IsOk;
using testing::RunFor;
using testing::StatusIs;

// An IPv4 UDP packet whose first payload byte is the test's key (0xff: not
// the probe's).
std::vector<uint8_t> Ipv4Udp(uint8_t key) {
  std::vector<uint8_t> p = {0x45, 0,    0,    29,   0, 0, 0,   0,  64, 17,
                            0,    0,    198,  18,   0, 1, 198, 18, 0,  2,
                            0x30, 0x39, 0x00, 0x07, 0, 9, 0,   0,  key};
  return p;
}

struct PcapState {
  bool open = false;
  std::string installed;
  uint64_t received = 0;
  PcapHandle::Options options;
};

// A ring fed by the test; DLT_RAW frames. An eventfd makes the loop see it
// readable while packets are queued.
class FakePcap final : public PcapHandle {
 public:
  explicit FakePcap(std::shared_ptr<PcapState> state)
      : state_(std::move(state)), event_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    state_->open = true;
  }
  ~FakePcap() override { state_->open = false; }
  void Arrive(std::vector<uint8_t> packet) {
    queued_.push_back(std::move(packet));
    ++state_->received;
    Wake();
  }
  // Counted by the kernel, in a block not handed over yet.
  void ArriveHeld(std::vector<uint8_t> packet) {
    held_.push_back(std::move(packet));
    ++state_->received;
  }
  void HandOver() {
    for (auto& p : held_) queued_.push_back(std::move(p));
    held_.clear();
    Wake();
  }
  absl::StatusOr<Filter> Compile(const std::string& filter) override {
    compiled_ = filter;
    return Filter();
  }
  absl::Status Install(const Filter&) override {
    state_->installed = compiled_;
    return absl::OkStatus();
  }
  int fd() const override { return event_.get(); }
  int link_type() const override { return DLT_RAW; }
  std::string link_type_name() const override { return "RAW"; }
  int snaplen() const override { return state_->options.snaplen; }
  absl::StatusOr<int> Dispatch(int max,
                               const std::function<void(const Frame&)>& each) override {
    int n = 0;
    for (; n < max && !queued_.empty(); ++n) {
      const std::vector<uint8_t> packet = std::move(queued_.front());
      queued_.pop_front();
      Frame frame;
      frame.seconds = 1'800'000'000;
      frame.nanos = static_cast<uint32_t>(++count_);
      frame.original_length = static_cast<uint32_t>(packet.size());
      frame.data = packet;
      each(frame);
    }
    if (queued_.empty()) {
      uint64_t c = 0;
      (void)!read(event_.get(), &c, sizeof(c));
    }
    return n;
  }
  absl::StatusOr<Stats> ReadStats() override { return Stats{state_->received, 0, 0}; }

 private:
  void Wake() {
    const uint64_t one = 1;
    ASSERT_EQ(write(event_.get(), &one, sizeof(one)), 8);
  }
  std::shared_ptr<PcapState> state_;
  UniqueFd event_;
  std::deque<std::vector<uint8_t>> queued_, held_;
  std::string compiled_;
  int count_ = 0;
};

class FakeOpener final : public SocketOpener {
 public:
  absl::StatusOr<std::unique_ptr<PcapHandle>> OpenPcap(
      const PcapHandle::Options& options) override {
    if (!allowed) {
      return absl::FailedPreconditionError("capturing needs CAP_NET_RAW");
    }
    state->options = options;
    auto pcap = std::make_unique<FakePcap>(state);
    last = pcap.get();
    return pcap;
  }
  bool allowed = true;
  std::shared_ptr<PcapState> state = std::make_shared<PcapState>();
  FakePcap* last = nullptr;
};

class ProbeCaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create(&clock_, &opener_);
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
  }
  void Start(ProbeCapturePlan plan = {}) {
    ProbeCapture::Hooks hooks;
    hooks.emit = [this](v1::ProbeCaptureEvent e) {
      events_.push_back(std::move(e));
      return true;
    };
    hooks.writable = [this] { return writable_; };
    hooks.fail = [this](absl::Status s) { failed_ = std::move(s); };
    capture_ = std::make_unique<ProbeCapture>(loop_.get(), work_, plan, std::move(hooks));
    capture_->Start(
        "udp port 12345",
        [](const CapturedIp& ip) -> std::optional<ProbeCapture::Match> {
          if (ip.l4.size() < 9 || ip.l4[8] == 0xff) return std::nullopt;
          return ProbeCapture::Match{ip.l4[8],
                                     absl::StrCat("key ", ip.l4[8], " unmatched")};
        },
        [this] { ready_ = events_.size(); });
    DrainPool(work_, BlockingPool::Queue::kDiagnostics);
    loop_->RunOnce();
  }
  void Arrive(uint8_t key) { opener_.last->Arrive(Ipv4Udp(key)); }
  void Run(absl::Duration d) { RunFor(*loop_, clock_, d); }
  // Comments of the packets emitted so far, in order.
  std::vector<std::string> Comments() const {
    std::vector<std::string> out;
    for (const auto& e : events_) {
      for (const auto& p : e.packets().packets()) out.push_back(p.comment());
    }
    return out;
  }
  std::vector<std::string> Close() {
    capture_->Release(true);
    for (auto& e : capture_->Closing()) events_.push_back(std::move(e));
    return Comments();
  }

  FakeClock clock_;
  FakeOpener opener_;
  std::unique_ptr<EventLoop> loop_;
  BlockingPool pool_;
  const BlockingWork work_{&pool_, "caller"};
  std::unique_ptr<ProbeCapture> capture_;
  std::vector<v1::ProbeCaptureEvent> events_;
  bool writable_ = true;
  std::optional<size_t> ready_;
  absl::Status failed_;
};

TEST_F(ProbeCaptureTest, HeaderFirstThenTheProbeStarts) {
  Start({.snaplen = 200, .max_packets = 10});
  EXPECT_EQ(opener_.state->options.interface, "any");
  EXPECT_EQ(opener_.state->options.snaplen, 200);
  EXPECT_EQ(opener_.state->installed, "udp port 12345");
  ASSERT_EQ(ready_, 1u);  // after the header, never before the filter
  ASSERT_TRUE(events_[0].has_header());
  EXPECT_EQ(events_[0].header().interface(), "any");
  EXPECT_EQ(events_[0].header().effective_filter(), "udp port 12345");
  EXPECT_EQ(events_[0].header().link_type(), static_cast<uint32_t>(DLT_RAW));
}

TEST_F(ProbeCaptureTest, WithoutTheCapabilityTheProbeNeverStarts) {
  opener_.allowed = false;
  Start();
  EXPECT_THAT(failed_,
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("CAP_NET_RAW")));
  EXPECT_FALSE(ready_.has_value());
  EXPECT_TRUE(events_.empty());
}

TEST_F(ProbeCaptureTest, PacketsAndEventsJoinInEitherOrder) {
  Start();
  capture_->Note(1, "event one");  // the event before its packet
  Arrive(1);
  Arrive(2);  // the packet before its event
  Run(absl::Milliseconds(1));
  capture_->Note(2, "event two");
  Run(ProbeCapture::kBatchDelay);
  EXPECT_EQ(Comments(), (std::vector<std::string>{"event one", "event two"}));
  EXPECT_THAT(failed_, IsOk());
}

TEST_F(ProbeCaptureTest, CaptureOrderKeptWhileAPacketWaitsForItsEvent) {
  Start();
  Arrive(1);
  Arrive(2);
  capture_->Note(2, "two");
  Run(ProbeCapture::kBatchDelay * 2);
  EXPECT_TRUE(Comments().empty());  // 2 waits behind 1
  capture_->Note(1, "one");
  Run(ProbeCapture::kBatchDelay * 2);
  EXPECT_EQ(Comments(), (std::vector<std::string>{"one", "two"}));
}

TEST_F(ProbeCaptureTest, OtherPacketsAreSkippedNotDropped) {
  Start();
  Arrive(0xff);
  Arrive(3);
  capture_->Note(3, "three");
  Run(ProbeCapture::kBatchDelay);
  EXPECT_EQ(Close(), (std::vector<std::string>{"three"}));
  ASSERT_TRUE(events_.back().has_stats());
  EXPECT_EQ(events_.back().stats().agent_dropped(), 0u);
  EXPECT_EQ(events_.back().stats().delivered(), 1u);
  EXPECT_EQ(events_.back().stats().received(), 2u);
}

TEST_F(ProbeCaptureTest, BeyondMaxPacketsCountedAsDropped) {
  Start({.snaplen = 262144, .max_packets = 2});
  for (uint8_t k = 1; k <= 5; ++k) Arrive(k);
  Run(absl::Milliseconds(1));
  EXPECT_EQ(Close(), (std::vector<std::string>{"key 1 unmatched", "key 2 unmatched"}));
  EXPECT_EQ(events_.back().stats().agent_dropped(), 3u);
  EXPECT_EQ(events_.back().stats().delivered(), 2u);
}

TEST_F(ProbeCaptureTest, ASlowClientHoldsPacketsBack) {
  Start();
  writable_ = false;
  capture_->Note(1, "one");
  Arrive(1);
  Run(ProbeCapture::kBatchDelay * 3);
  EXPECT_TRUE(Comments().empty());
  writable_ = true;
  Run(ProbeCapture::kBatchDelay);
  EXPECT_EQ(Comments(), (std::vector<std::string>{"one"}));
}

TEST_F(ProbeCaptureTest, DrainWaitsForWhatTheKernelCounted) {
  Start();
  capture_->Note(1, "one");
  opener_.last->ArriveHeld(Ipv4Udp(1));
  bool done = false;
  capture_->Drain([&] { done = true; });
  EXPECT_TRUE(capture_->draining());
  EXPECT_FALSE(done);
  Run(absl::Milliseconds(10));
  opener_.last->HandOver();
  loop_->RunOnce();
  EXPECT_TRUE(done);
  EXPECT_EQ(Close(), (std::vector<std::string>{"one"}));
}

TEST_F(ProbeCaptureTest, DrainGivesUpAfterItsWait) {
  Start();
  opener_.last->ArriveHeld(Ipv4Udp(1));
  bool done = false;
  capture_->Drain([&] { done = true; });
  Run(ProbeCapture::kDrainWait - absl::Milliseconds(1));
  EXPECT_FALSE(done);
  Run(absl::Milliseconds(2));
  EXPECT_TRUE(done);
}

TEST_F(ProbeCaptureTest, NothingOutstandingDrainsAtOnce) {
  Start();
  Arrive(1);
  bool done = false;
  capture_->Drain([&] { done = true; });
  EXPECT_TRUE(done);
  EXPECT_EQ(Close(), (std::vector<std::string>{"key 1 unmatched"}));
}

// A ping with a capture, on fake sockets: the ICMP socket's requests and
// the replies of a responder that skips the second reach the fake ring as
// IPv4 packets, with another pinger's packets to the same target.
class PingWithCaptureTest : public ::testing::Test {
 protected:
  static std::vector<uint8_t> Ipv4(const std::vector<uint8_t>& icmp, bool outgoing) {
    std::vector<uint8_t> p = {0x45, 0,  0, static_cast<uint8_t>(20 + icmp.size()),
                              0,    0,  0, 0,
                              64,   1,  0, 0,
                              198,  18, 0, 10,
                              198,  18, 0, 1};
    if (!outgoing) std::swap_ranges(p.begin() + 12, p.begin() + 16, p.begin() + 16);
    p.insert(p.end(), icmp.begin(), icmp.end());
    return p;
  }
  void SetUp() override {
    opener_.open_pcap = [this](const PcapHandle::Options& options)
        -> absl::StatusOr<std::unique_ptr<PcapHandle>> {
      state_->options = options;
      auto pcap = std::make_unique<FakePcap>(state_);
      pcap_ = pcap.get();
      return pcap;
    };
    opener_.on_icmp_send = [this](const testing::SentPacket& request) {
      const std::vector<uint8_t> sent = request.bytes;
      // The ring hands the request over 2 ms later, the reply 1 ms after it
      // came: before and after the probe's event.
      loop_->RunAfter(absl::Milliseconds(2),
                      [this, sent] { pcap_->Arrive(Ipv4(sent, true)); });
      if (++sends_ == 2) return 0;  // no reply
      std::vector<uint8_t> reply = sent;
      reply[0] = 0;
      loop_->RunAfter(absl::Milliseconds(5), [this, reply] {
        opener_.icmp.at(0)->Deliver(reply, *SocketAddress::FromLiteral("198.18.0.1", 0),
                                    clock_.Wall());
        loop_->RunAfter(absl::Milliseconds(1),
                        [this, reply] { pcap_->Arrive(Ipv4(reply, false)); });
      });
      // Another pinger's request (another identifier) to the same target.
      std::vector<uint8_t> other = sent;
      other[4] ^= 0xff;
      pcap_->Arrive(Ipv4(other, true));
      return 0;
    };
    auto loop = EventLoop::Create(&clock_, &opener_);
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
  }

  FakeClock clock_;
  testing::FakeSocketOpener opener_;
  std::shared_ptr<PcapState> state_ = std::make_shared<PcapState>();
  FakePcap* pcap_ = nullptr;
  int sends_ = 0;
  std::unique_ptr<EventLoop> loop_;
  BlockingPool pool_;
  const BlockingWork work_{&pool_, "caller"};
};

TEST_F(PingWithCaptureTest, EachPacketCarriesItsEventAndOnlyThePingsPackets) {
  PingPlan plan;
  plan.targets = {"198.18.0.1"};
  plan.count = 3;
  plan.interval = absl::Milliseconds(100);
  plan.timeout = absl::Milliseconds(500);
  plan.capture = ProbeCapturePlan{};
  auto sink = std::make_shared<testing::RecordingSink<v1::PingEvent>>();
  int done = 0;
  PingProbe probe(plan, loop_.get(), work_, sink, [&] { ++done; });
  probe.Start();
  // Resolution and the filter's compilation run on the pool.
  for (int i = 0; i < 100 && sends_ == 0 && !sink->finished(); ++i) {
    DrainPool(work_, BlockingPool::Queue::kDiagnostics);
    loop_->RunOnce();
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ(sends_, 1) << "the first request leaves once the filter is in";
  EXPECT_THAT(state_->installed, HasSubstr("icmp[4:2] == "));
  RunFor(*loop_, clock_, absl::Seconds(2));
  ASSERT_EQ(done, 1);
  ASSERT_TRUE(sink->status().ok()) << sink->status();
  std::vector<std::string> comments;
  std::vector<std::string> kinds;
  for (const v1::PingEvent& e : sink->events()) {
    if (!e.has_capture()) continue;
    if (e.capture().has_header()) kinds.push_back("header");
    if (e.capture().has_stats()) kinds.push_back("stats");
    for (const v1::Packet& p : e.capture().packets().packets())
      comments.push_back(p.comment());
  }
  ASSERT_FALSE(kinds.empty());
  EXPECT_EQ(kinds.front(), "header");
  EXPECT_EQ(kinds.back(), "stats");
  EXPECT_EQ(comments, (std::vector<std::string>{
                          "ping seq=1 reply 5.0 ms", "ping seq=1 reply 5.0 ms",
                          "ping seq=2 timeout", "ping seq=3 reply 5.0 ms",
                          "ping seq=3 reply 5.0 ms"}));
  EXPECT_TRUE(sink->events().back().has_summary());
}

TEST(CaptureCommentTest, TimesAndOutcomesAsAPersonReadsThem) {
  EXPECT_EQ(CaptureMs(absl::Microseconds(410)), "0.41 ms");
  EXPECT_EQ(CaptureMs(absl::Microseconds(1230)), "1.2 ms");
  EXPECT_EQ(CaptureMs(absl::Milliseconds(131)), "131 ms");
  v1::AttemptResult result;
  result.set_outcome(v1::OUTCOME_REFUSED);
  EXPECT_EQ(CaptureOutcome(result), "refused");
  result.set_outcome(v1::OUTCOME_HOST_UNREACHABLE);
  result.set_reported_by("10.0.0.1");
  EXPECT_EQ(CaptureOutcome(result), "host unreachable from 10.0.0.1");
}

TEST(CapturedPacketTest, LinuxCookedIpv4) {
  std::vector<uint8_t> frame = {0, 4, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00};
  const std::vector<uint8_t> ip = Ipv4Udp(7);
  frame.insert(frame.end(), ip.begin(), ip.end());
  const std::optional<CapturedIp> parsed = ParseCapturedIp(DLT_LINUX_SLL, frame);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->family, AF_INET);
  EXPECT_EQ(parsed->protocol, IPPROTO_UDP);
  EXPECT_EQ(parsed->source.ip(), "198.18.0.1");
  EXPECT_EQ(parsed->destination.ip(), "198.18.0.2");
  ASSERT_EQ(parsed->l4.size(), 9u);
  EXPECT_EQ(parsed->l4[8], 7);
}

TEST(CapturedPacketTest, EthernetVlanIpv6WithAnExtensionHeader) {
  std::vector<uint8_t> frame(12, 0);
  frame.insert(frame.end(), {0x81, 0x00, 0x00, 0x05, 0x86, 0xdd});
  std::vector<uint8_t> ip = {0x60, 0, 0, 0, 0, 16, 60 /* dest options */, 64};
  std::vector<uint8_t> src(16, 0), dst(16, 0);
  src[15] = 1;
  dst[15] = 2;
  ip.insert(ip.end(), src.begin(), src.end());
  ip.insert(ip.end(), dst.begin(), dst.end());
  ip.insert(ip.end(), {58, 0, 1, 4, 0, 0, 0, 0});         // dest options, 8 bytes
  ip.insert(ip.end(), {128, 0, 0, 0, 0x12, 0x34, 0, 1});  // echo request
  frame.insert(frame.end(), ip.begin(), ip.end());
  const std::optional<CapturedIp> parsed = ParseCapturedIp(DLT_EN10MB, frame);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->family, AF_INET6);
  EXPECT_EQ(parsed->protocol, IPPROTO_ICMPV6);
  EXPECT_EQ(parsed->destination.ip(), "::2");
  ASSERT_EQ(parsed->l4.size(), 8u);
  EXPECT_EQ(parsed->l4[0], 128);
}

TEST(CapturedPacketTest, MalformedAndForeignFramesAreNotIp) {
  std::vector<uint8_t> bad = Ipv4Udp(1);
  bad[0] = 0x44;  // IHL 4
  EXPECT_FALSE(ParseCapturedIp(DLT_RAW, bad));
  EXPECT_FALSE(ParseCapturedIp(DLT_RAW, std::vector<uint8_t>{0x45, 0}));
  std::vector<uint8_t> arp = {0, 4, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x06, 0, 1};
  EXPECT_FALSE(ParseCapturedIp(DLT_LINUX_SLL, arp));
  EXPECT_FALSE(ParseCapturedIp(DLT_IEEE802_11, Ipv4Udp(1)));
}

// libpcap compiles the filter for a cooked "any" capture.
bool Compiles(const std::string& filter) {
  pcap_t* dead = pcap_open_dead(DLT_LINUX_SLL, 262144);
  bpf_program program{};
  const bool ok =
      pcap_compile(dead, &program, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0;
  if (ok) pcap_freecode(&program);
  pcap_close(dead);
  return ok;
}

TEST(PingCaptureTest, FilterNamesTheIdentifierAndTargets) {
  PingCaptureScope scope;
  scope.id_v4 = 4660;
  scope.v4 = {"198.18.0.2", "198.18.1.2"};
  const std::string v4 = PingCaptureFilter(scope);
  EXPECT_EQ(
      v4,
      "(icmp and (((icmp[0] == 8 or icmp[0] == 0) and icmp[4:2] == 4660 and (host "
      "198.18.0.2 or host 198.18.1.2)) or ((icmp[0] == 3 or icmp[0] == 11 or icmp[0] == "
      "12) and icmp[28] == 8 and icmp[32:2] == 4660)))");
  EXPECT_TRUE(Compiles(v4));
  scope.id_v6 = 17;
  scope.v6 = {"2001:db8::2"};
  const std::string both = PingCaptureFilter(scope);
  EXPECT_THAT(both, HasSubstr(" or (icmp6 and (((ip6[40] == 128 or ip6[40] == 129) and "
                              "ip6[44:2] == 17 and (host 2001:db8::2))"));
  EXPECT_TRUE(Compiles(both));
}

// An echo request from 198.18.0.1 to 198.18.0.2, id 0x1234, seq 5, our
// payload (token 0xaabbccdd, wire sequence 5).
std::vector<uint8_t> EchoV4(uint8_t type, bool to_target) {
  std::vector<uint8_t> p = {0x45, 0, 0,   40, 0, 0, 0,   0,  64, 1,
                            0,    0, 198, 18, 0, 1, 198, 18, 0,  2};
  if (!to_target) std::swap_ranges(p.begin() + 12, p.begin() + 16, p.begin() + 16);
  const std::vector<uint8_t> icmp = {type, 0,   0,    0,    0x12, 0x34, 0, 5, 'N', 'P',
                                     'R',  'B', 0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0,   5};
  p.insert(p.end(), icmp.begin(), icmp.end());
  return p;
}

TEST(PingCaptureTest, ReadsRequestsAndReplies) {
  const std::vector<uint8_t> request = EchoV4(8, true);
  std::optional<PingPacket> parsed = ParsePingPacket(*ParseCapturedIp(DLT_RAW, request));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->kind, PingPacket::Kind::kRequest);
  EXPECT_EQ(parsed->id, 0x1234);
  EXPECT_EQ(parsed->sequence16, 5);
  EXPECT_EQ(parsed->token, 0xaabbccddu);
  EXPECT_EQ(parsed->wire_sequence, 5u);
  EXPECT_EQ(parsed->target.ip(), "198.18.0.2");
  const std::vector<uint8_t> reply = EchoV4(0, false);
  parsed = ParsePingPacket(*ParseCapturedIp(DLT_RAW, reply));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->kind, PingPacket::Kind::kReply);
  EXPECT_EQ(parsed->target.ip(), "198.18.0.2");
  // Another protocol is not a ping's.
  EXPECT_FALSE(ParsePingPacket(*ParseCapturedIp(DLT_RAW, Ipv4Udp(1))));
}

TEST(PingCaptureTest, ReadsAnErrorQuotingARequest) {
  // Host unreachable from router 198.18.0.254, quoting the request above.
  std::vector<uint8_t> quoted = EchoV4(8, true);
  std::vector<uint8_t> icmp = {3, 1, 0, 0, 0, 0, 0, 0};
  icmp.insert(icmp.end(), quoted.begin(), quoted.end());
  const uint16_t sum = icmp::Checksum(icmp);
  icmp[2] = static_cast<uint8_t>(sum >> 8);
  icmp[3] = static_cast<uint8_t>(sum);
  std::vector<uint8_t> p = {0x45, 0,  0, static_cast<uint8_t>(20 + icmp.size()),
                            0,    0,  0, 0,
                            64,   1,  0, 0,
                            198,  18, 0, 254,
                            198,  18, 0, 1};
  p.insert(p.end(), icmp.begin(), icmp.end());
  const std::optional<PingPacket> parsed = ParsePingPacket(*ParseCapturedIp(DLT_RAW, p));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->kind, PingPacket::Kind::kError);
  EXPECT_EQ(parsed->id, 0x1234);
  EXPECT_EQ(parsed->wire_sequence, 5u);
  EXPECT_EQ(parsed->target.ip(), "198.18.0.2");
}

TEST(FlowCaptureTest, FilterNamesEachTargetAndErrorsQuotingIt) {
  std::vector<SocketAddress> targets = {*SocketAddress::FromLiteral("198.18.0.11", 80),
                                        *SocketAddress::FromLiteral("2001:2::b", 443)};
  const std::string tcp = FlowCaptureFilter(IPPROTO_TCP, targets);
  EXPECT_EQ(
      tcp,
      "(tcp and ((host 198.18.0.11 and port 80) or (host 2001:2::b and port 443))) or "
      "(icmp and (icmp[0] == 3 or icmp[0] == 11) and icmp[17] == 6 and icmp[24:4] == "
      "3323068427 and icmp[30:2] == 80) or (icmp6 and ip6[40] >= 1 and ip6[40] <= 3 and "
      "ip6[54] == 6 and ip6[90:2] == 443)");
  EXPECT_TRUE(Compiles(tcp));
  EXPECT_TRUE(Compiles(FlowCaptureFilter(IPPROTO_UDP, targets)));
}

// A TCP SYN 198.18.0.10:40000 -> 198.18.0.11:80.
std::vector<uint8_t> Syn() {
  return {0x45, 0,  0,   40, 0,    0,    0x40, 0,    64, 6,  0, 0, 198, 18,
          0,    10, 198, 18, 0,    11,   0x9c, 0x40, 0,  80, 0, 0, 0,   1,
          0,    0,  0,   0,  0x50, 0x02, 0xff, 0xff, 0,  0,  0, 0};
}

TEST(FlowCaptureTest, ReadsASegmentAndAnErrorQuotingOne) {
  const SocketAddress target = *SocketAddress::FromLiteral("198.18.0.11", 80);
  const std::vector<uint8_t> syn = Syn();
  std::optional<CapturedFlow> flow =
      ParseCapturedFlow(*ParseCapturedIp(DLT_RAW, syn), IPPROTO_TCP);
  ASSERT_TRUE(flow);
  EXPECT_FALSE(flow->quoted);
  EXPECT_EQ(flow->tcp_flags, 0x02);
  EXPECT_EQ(LocalPortTowards(*flow, target), 40000);
  EXPECT_EQ(LocalPortTowards(*flow, *SocketAddress::FromLiteral("198.18.0.11", 81)), 0);
  EXPECT_FALSE(ParseCapturedFlow(*ParseCapturedIp(DLT_RAW, syn), IPPROTO_UDP));
  // Host unreachable from a router, quoting the SYN's header and 8 bytes.
  std::vector<uint8_t> error = {0x45, 0, 0,   56, 0, 0,  0, 0, 64, 1, 0, 0, 198, 18,
                                0,    1, 198, 18, 0, 10, 3, 1, 0,  0, 0, 0, 0,   0};
  error.insert(error.end(), syn.begin(), syn.begin() + 28);
  flow = ParseCapturedFlow(*ParseCapturedIp(DLT_RAW, error), IPPROTO_TCP);
  ASSERT_TRUE(flow);
  EXPECT_TRUE(flow->quoted);
  EXPECT_EQ(LocalPortTowards(*flow, target), 40000);
  // Quoted, the target's own packets (its source) are not ours.
  EXPECT_EQ(flow->source.port(), 40000);
}

TEST(FlowCaptureTest, TimeExceededQuotingATcpSyn) {
  // As a lab router sent it for a TCP traceroute's TTL 1 SYN.
  const std::vector<uint8_t> syn = {0x45, 0x00, 0x00, 0x2c, 0x64, 0x7e, 0x40, 0x00, 0x01,
                                    0x06, 0x88, 0x15, 0xc6, 0x12, 0x00, 0x0a, 0xc6, 0x12,
                                    0x01, 0x0a, 0x9b, 0x45, 0x00, 0x50, 0x00, 0x00, 0x00,
                                    0x01, 0x00, 0x00, 0x00, 0x00, 0x60, 0x02, 0xfa, 0xf0,
                                    0x74, 0x66, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4};
  std::vector<uint8_t> error = {0x45, 0xc0, 0, static_cast<uint8_t>(28 + syn.size()),
                                0,    0,    0, 0,
                                64,   1,    0, 0,
                                198,  18,   0, 1,
                                198,  18,   0, 10,
                                11,   0,    0, 0,
                                0,    0,    0, 0};
  error.insert(error.end(), syn.begin(), syn.end());
  const std::optional<CapturedIp> ip = ParseCapturedIp(DLT_RAW, error);
  ASSERT_TRUE(ip);
  const std::optional<CapturedFlow> flow = ParseCapturedFlow(*ip, IPPROTO_TCP);
  ASSERT_TRUE(flow);
  EXPECT_TRUE(flow->quoted);
  EXPECT_EQ(flow->tcp_sequence, 1u);
  EXPECT_EQ(LocalPortTowards(*flow, *SocketAddress::FromLiteral("198.18.1.10", 80)),
            0x9b45);
  // And the filter lets it through.
  pcap_t* dead = pcap_open_dead(DLT_RAW, 262144);
  bpf_program program{};
  ASSERT_EQ(
      pcap_compile(
          dead, &program,
          FlowCaptureFilter(IPPROTO_TCP, {*SocketAddress::FromLiteral("198.18.1.10", 80)})
              .c_str(),
          1, PCAP_NETMASK_UNKNOWN),
      0);
  pcap_pkthdr header{};
  header.caplen = header.len = static_cast<uint32_t>(error.size());
  EXPECT_NE(pcap_offline_filter(&program, &header, error.data()), 0);
  pcap_freecode(&program);
  pcap_close(dead);
}

TEST(ProbeCaptureOptionsTest, LimitsNameTheField) {
  v1::ProbeCaptureOptions options;
  options.set_snaplen(0);
  EXPECT_THAT(ValidateProbeCapture(true, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "capture.snaplen: 0 is outside 1..262144"));
  options.set_snaplen(262145);
  EXPECT_THAT(
      ValidateProbeCapture(true, options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("262145 is outside")));
  options.set_snaplen(96);
  options.set_max_packets(1000001);
  EXPECT_THAT(ValidateProbeCapture(true, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("capture.max_packets: 1000001 is outside 0..1000000")));
  options.set_max_packets(0);
  absl::StatusOr<std::optional<ProbeCapturePlan>> plan =
      ValidateProbeCapture(true, options);
  ASSERT_THAT(plan, IsOk());
  ASSERT_TRUE(plan->has_value());
  EXPECT_EQ((*plan)->snaplen, 96u);
  EXPECT_EQ((*plan)->max_packets, 100000u);
  plan = ValidateProbeCapture(true, v1::ProbeCaptureOptions(), 128);
  EXPECT_EQ((*plan)->snaplen, 128u);
  plan = ValidateProbeCapture(false, options);
  EXPECT_FALSE(plan->has_value());
}

TEST(ProbeCaptureOptionsTest, PingValidatesItsCapture) {
  v1::PingRequest request;
  request.add_targets("198.18.0.2");
  request.mutable_capture()->set_snaplen(0);
  EXPECT_THAT(ValidatePing(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("capture.snaplen")));
  request.mutable_capture()->clear_snaplen();
  absl::StatusOr<PingPlan> plan = ValidatePing(request);
  ASSERT_THAT(plan, IsOk());
  ASSERT_TRUE(plan->capture.has_value());
  EXPECT_EQ(plan->capture->snaplen, 262144u);
}

TEST(ProbeCaptureOptionsTest, EveryProbeValidatesItsCaptureAndTraceKindsRefuseIt) {
  v1::ProbeCaptureOptions bad;
  bad.set_snaplen(0);
  v1::TcpConnectRequest tcp;
  tcp.add_targets("198.18.0.2:80");
  *tcp.mutable_capture() = bad;
  EXPECT_THAT(ValidateTcpConnect(tcp),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("capture.snaplen")));
  v1::UdpEchoRequest udp;
  udp.set_target("198.18.0.2:7");
  *udp.mutable_capture() = bad;
  EXPECT_THAT(ValidateUdpEcho(udp),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("capture.snaplen")));
  v1::ThroughputRequest throughput;
  throughput.set_target("198.18.0.2");
  throughput.mutable_capture();
  absl::StatusOr<ThroughputPlan> tp = ValidateThroughput(throughput);
  ASSERT_THAT(tp, IsOk());
  EXPECT_EQ(tp->capture->snaplen, 128u);  // the headers
  v1::TracerouteRequest trace;
  trace.set_target("198.18.0.2");
  trace.mutable_capture();
  EXPECT_THAT(ValidateTraceroute(trace), IsOk());
  trace.set_rounds(3);
  EXPECT_THAT(ValidateTraceroute(trace),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("capture: not supported with rounds (mtr)")));
  trace.clear_rounds();
  trace.set_path_mtu(true);
  EXPECT_THAT(ValidateTraceroute(trace),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("capture: not supported with path_mtu (tracepath)")));
}

TEST(ProbeCaptureOptionsTest, AScheduledRunCannotCapture) {
  v1::PingRequest ping;
  ping.add_targets("198.18.0.2");
  ping.set_count(1);
  ping.mutable_capture();
  EXPECT_THAT(
      LongestRun(ProbeRequest(ping), "scheduled_probes[0]"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("scheduled_probes[0].ping.capture: a scheduled run has no "
                         "stream")));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
