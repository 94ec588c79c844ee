// Issue 23, the mesh: a mesh entry's validation (fixed inputs), the
// expansion of its names (a scripted resolver and fixed own addresses), the
// round runner (fake clock, scripted ProbeStarter) and its metrics.
#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/metrics/registry.h"
#include "agent/net/event_loop.h"
#include "agent/schedule/mesh_config.h"
#include "agent/schedule/mesh_metrics.h"
#include "agent/schedule/mesh_peers.h"
#include "agent/schedule/mesh_scheduler.h"
#include "agent/schedule/schedule_config.h"
#include "common/proto_time.h"
#include "tests/test_support/fake_clock.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::FakeClock;
using ::netprobe::testing::IsOk;
using ::netprobe::testing::RunFor;
using ::netprobe::testing::RunUntil;
using ::netprobe::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

v1::AgentConfig Config(const std::string& text) {
  v1::AgentConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

// One mesh entry "mesh", interval 60s, with `mesh` inside its mesh { }.
absl::StatusOr<ScheduleConfig> Mesh(const std::string& mesh,
                                    const std::string& interval = "seconds: 60") {
  return ValidateSchedule(
      Config(absl::StrCat(R"pb(scheduled_probes { name: "mesh" interval {)pb", interval,
                          R"pb(}
                               labels { key: "fleet" value: "lab" } mesh { )pb",
                          mesh, " } }")));
}

std::string MeshError(const std::string& mesh,
                      const std::string& interval = "seconds: 60") {
  absl::StatusOr<ScheduleConfig> schedule = Mesh(mesh, interval);
  EXPECT_THAT(schedule, StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  return std::string(schedule.status().message());
}

TEST(MeshConfigTest, AcceptsTheReadmeEntryWithItsDefaults) {
  auto schedule = Mesh(R"pb(peers: "mesh.lab"
                            family: ADDRESS_FAMILY_IPV4
                            ping: true
                            udp_echo_port: 7
                            tcp_port: 7431)pb");
  ASSERT_THAT(schedule, IsOk());
  EXPECT_TRUE(schedule->probes.empty());
  ASSERT_EQ(schedule->meshes.size(), 1u);
  const MeshSpec& mesh = schedule->meshes[0];
  EXPECT_EQ(mesh.name, "mesh");
  EXPECT_EQ(mesh.field, "scheduled_probes[0]");
  EXPECT_EQ(mesh.labels.size(), 1u);
  EXPECT_THAT(mesh.plan.names, ElementsAre("mesh.lab"));
  EXPECT_EQ(mesh.plan.max_peers, 1000u);
  EXPECT_EQ(mesh.plan.rate, 100u);
  EXPECT_EQ(mesh.plan.timeout, absl::Seconds(1));
  EXPECT_EQ(mesh.plan.count, 1u);
  ASSERT_EQ(mesh.plan.kinds.size(), 3u);
  EXPECT_EQ(mesh.plan.kinds[1].name, "UdpEcho");
  EXPECT_EQ(mesh.plan.kinds[1].port, 7);
  EXPECT_EQ(mesh.plan.rtt_buckets.size(), 10u);
  // 1000 x 3 x (3 + 10 + 3)
  EXPECT_EQ(mesh.plan.MaxSeries(), 48000u);
}

TEST(MeshConfigTest, FieldRangesNameTheFieldAndTheLimit) {
  EXPECT_EQ(MeshError(R"pb(peers: "a" ping: true count: 11)pb"),
            "scheduled_probes[0].mesh.count: 11 is above 10");
  EXPECT_EQ(MeshError(R"pb(peers: "a" ping: true max_peers: 0)pb"),
            "scheduled_probes[0].mesh.max_peers: 0 is below 1");
  EXPECT_EQ(MeshError(R"pb(peers: "a" ping: true max_peers: 10001)pb"),
            "scheduled_probes[0].mesh.max_peers: 10001 is above 10000");
  EXPECT_EQ(MeshError(R"pb(peers: "a" ping: true max_attempts_per_second: 10001)pb"),
            "scheduled_probes[0].mesh.max_attempts_per_second: 10001 is above 10000");
  EXPECT_EQ(MeshError(R"pb(peers: "a"
                           ping: true
                           timeout { nanos: 1000000 })pb"),
            "scheduled_probes[0].mesh.timeout: 1ms is not from 10ms to 10s");
  EXPECT_EQ(MeshError(R"pb(peers: "a"
                           ping: true
                           timeout { seconds: 2 })pb",
                      "seconds: 2"),
            "scheduled_probes[0].mesh.timeout: 2s is not below the interval 2s");
  EXPECT_EQ(MeshError(R"pb(peers: "a"
                           ping: true
                           resolve_interval { nanos: 5 })pb"),
            "scheduled_probes[0].mesh.resolve_interval: 5ns is not from 1s to 24h");
  EXPECT_EQ(MeshError(R"pb(peers: "a" udp_echo_port: 70000)pb"),
            "scheduled_probes[0].mesh.udp_echo_port: 70000 is above 65535");
  EXPECT_EQ(MeshError(R"pb(peers: "a")pb"),
            "scheduled_probes[0].mesh: no kind: set ping, udp_echo_port or tcp_port "
            "(at least one)");
  EXPECT_EQ(MeshError(R"pb(ping: true)pb"),
            "scheduled_probes[0].mesh.peers: 0 names; give 1 to 16");
  EXPECT_EQ(MeshError(R"pb(peers: "a" ping: true rtt_buckets: 0.1 rtt_buckets: 0.01)pb"),
            "scheduled_probes[0].mesh.rtt_buckets[1]: 0.01 is not above 0.1: the bounds "
            "must ascend");
  EXPECT_THAT(MeshError(R"pb(peers: "a" ping: true size: 100000)pb"),
              HasSubstr("scheduled_probes[0].mesh.ping.size"));
}

TEST(MeshConfigTest, RefusesMoreSeriesThanTheCap) {
  // 10000 x 3 x 16 = 480000
  EXPECT_EQ(MeshError(R"pb(peers: "a"
                           ping: true
                           udp_echo_port: 7
                           tcp_port: 1
                           max_peers: 10000)pb"),
            "scheduled_probes[0].mesh.max_peers: 10000 peers x 3 kinds x 16 series is "
            "480000 series, above the cap of 100000 (kMaxMeshSeries; fewer max_peers, "
            "fewer kinds or no_rtt_histogram)");
  // Without the histogram: 10000 x 3 x 3 = 90000 fits.
  EXPECT_THAT(Mesh(R"pb(peers: "a"
                        ping: true
                        udp_echo_port: 7
                        tcp_port: 1
                        max_peers: 10000
                        no_rtt_histogram: true)pb"),
              IsOk());
  // Two entries of 48000 + 48000 fit; a third does not.
  std::string text;
  for (int i = 0; i < 3; ++i) {
    absl::StrAppend(
        &text, "scheduled_probes { name: \"m", i,
        "\" mesh { peers: \"a\" ping: true udp_echo_port: 7 tcp_port: 1 } }\n");
  }
  auto three = ValidateSchedule(Config(text));
  EXPECT_THAT(three, StatusIs(absl::StatusCode::kInvalidArgument,
                              HasSubstr("scheduled_probes[2].mesh.max_peers: the mesh "
                                        "entries' series")));
  EXPECT_THAT(three.status().message(),
              HasSubstr("come to 144000, above the cap of 100000"));
}

TEST(MeshConfigTest, SharesNamesWithTheOtherEntriesAndKeepsPeerForItself) {
  auto twice = ValidateSchedule(Config(R"pb(
    scheduled_probes {
      name: "x"
      ping { targets: "198.18.0.1" count: 1 }
    }
    scheduled_probes {
      name: "x"
      mesh { peers: "a" ping: true }
    }
  )pb"));
  EXPECT_THAT(twice, StatusIs(absl::StatusCode::kInvalidArgument,
                              HasSubstr("scheduled_probes[1].name: 'x' is used twice")));
  auto peer = ValidateSchedule(Config(R"pb(
    scheduled_probes {
      name: "x"
      labels { key: "peer" value: "1" }
      mesh { peers: "a" ping: true }
    }
  )pb"));
  EXPECT_THAT(peer, StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("scheduled_probes[0].labels: 'peer'")));
}

TEST(MeshConfigTest, TheBudgetNamesIntervalRateAndTimeout) {
  auto schedule = Mesh(R"pb(peers: "a"
                            ping: true
                            udp_echo_port: 7
                            tcp_port: 1
                            max_attempts_per_second: 20)pb",
                       "seconds: 2");
  ASSERT_THAT(schedule, IsOk());
  const MeshSpec& mesh = schedule->meshes[0];
  EXPECT_THAT(CheckMeshBudget(mesh.plan, 5, mesh.interval, mesh.field), IsOk());
  EXPECT_EQ(CheckMeshBudget(mesh.plan, 19, mesh.interval, mesh.field).message(),
            "scheduled_probes[0].interval: 2s is too short for 19 peers: 57 attempts at "
            "mesh.max_attempts_per_second 20 take 2.85s, plus mesh.timeout 1s");
}

TEST(MeshConfigTest, PolicyMustEnableEveryKindTheMeshUses) {
  auto schedule = Mesh(R"pb(peers: "a" ping: true udp_echo_port: 7)pb");
  ASSERT_THAT(schedule, IsOk());
  v1::Policy only_ping;
  only_ping.add_enabled_probes("Ping");
  auto policy = Policy::Build(only_ping);
  ASSERT_THAT(policy, IsOk());
  EXPECT_THAT(CheckSchedulePolicy(*schedule, **policy),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("scheduled_probes ('mesh').mesh: ")));
  v1::Policy both = only_ping;
  both.add_enabled_probes("UdpEcho");
  auto allowed = Policy::Build(both);
  ASSERT_THAT(allowed, IsOk());
  EXPECT_THAT(CheckSchedulePolicy(*schedule, **allowed), IsOk());
}

TEST(MeshConfigTest, PolicyMustLetTheMeshKeepItsAttemptsInFlight) {
  auto schedule = Mesh(R"pb(peers: "a" ping: true)pb");
  ASSERT_THAT(schedule, IsOk());
  v1::Policy few;
  few.mutable_limits()->set_concurrent_probes_per_client(8);
  auto policy = Policy::Build(few);
  ASSERT_THAT(policy, IsOk());
  EXPECT_THAT(CheckSchedulePolicy(*schedule, **policy),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("policy.limits.concurrent_probes_per_client: 8 is below "
                                 "the 32 attempts mesh 'mesh' keeps in flight")));
  v1::Policy total;
  total.mutable_limits()->set_concurrent_probes_total(20);
  auto small_total = Policy::Build(total);
  ASSERT_THAT(small_total, IsOk());
  EXPECT_THAT(CheckSchedulePolicy(*schedule, **small_total),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("policy.limits.concurrent_probes_total: 20 is below the "
                                 "32 attempts")));
  v1::Policy enough;
  enough.mutable_limits()->set_concurrent_probes_per_client(64);
  auto allowed = Policy::Build(enough);
  ASSERT_THAT(allowed, IsOk());
  EXPECT_THAT(CheckSchedulePolicy(*schedule, **allowed), IsOk());
}

TEST(MeshConfigTest, AttemptRequestsBracketIpv6) {
  MeshPlan plan;
  plan.timeout = absl::Milliseconds(300);
  const ProbeRequest udp = MeshAttemptRequest(plan, {"UdpEcho", 7}, "2001:2::b");
  EXPECT_EQ(std::get<v1::UdpEchoRequest>(udp).target(), "[2001:2::b]:7");
  EXPECT_EQ(std::get<v1::UdpEchoRequest>(udp).count(), 1u);
  const ProbeRequest tcp = MeshAttemptRequest(plan, {"TcpConnect", 7431}, "198.18.0.11");
  EXPECT_EQ(std::get<v1::TcpConnectRequest>(tcp).targets(0), "198.18.0.11:7431");
  const ProbeRequest ping = MeshAttemptRequest(plan, {"Ping", 0}, "2001:2::b");
  EXPECT_EQ(std::get<v1::PingRequest>(ping).targets(0), "2001:2::b");
  EXPECT_EQ(FromProto(std::get<v1::PingRequest>(ping).timeout()),
            absl::Milliseconds(300));
}

// ---- expansion ----

SocketAddress Ip(const std::string& text) { return *SocketAddress::FromLiteral(text); }

// Names to addresses; literals are themselves; the agent owns 198.18.0.1.
MeshHost ScriptedHost(std::map<std::string, std::vector<std::string>> names) {
  MeshHost host;
  host.resolve =
      [names](const std::string& name, int family,
              absl::string_view field) -> absl::StatusOr<std::vector<SocketAddress>> {
    std::vector<SocketAddress> out;
    if (auto literal = SocketAddress::FromLiteral(name)) {
      if (family == AF_UNSPEC || literal->family() == family) out.push_back(*literal);
      return out;
    }
    auto it = names.find(name);
    if (it == names.end()) {
      return absl::NotFoundError(absl::StrCat(field, ": '", name, "' does not resolve"));
    }
    for (const std::string& ip : it->second) {
      SocketAddress address = Ip(ip);
      if (family == AF_UNSPEC || address.family() == family) out.push_back(address);
    }
    return out;
  };
  host.is_own = [](const SocketAddress& a) { return a.ip() == "198.18.0.1"; };
  return host;
}

MeshPlan Plan(std::vector<std::string> names, int family = AF_UNSPEC) {
  MeshPlan plan;
  plan.names = std::move(names);
  plan.family = family;
  plan.kinds = {{"Ping", 0}};
  return plan;
}

const std::map<std::string, std::vector<std::string>> kLab = {
    {"mesh.lab", {"198.18.0.3", "198.18.0.1", "2001:2::b", "198.18.0.2", "198.18.0.10"}},
    {"other.lab", {"198.18.0.2", "198.18.0.4"}},
    {"v6.lab", {"2001:2::c"}},
};

TEST(MeshPeersTest, EveryAddressOnceSortedWithoutTheAgentsOwn) {
  auto peers = ExpandMesh(Plan({"mesh.lab", "other.lab", "198.18.0.9"}),
                          ScriptedHost(kLab), "scheduled_probes[0]");
  ASSERT_THAT(peers, IsOk());
  EXPECT_THAT(*peers, ElementsAre("198.18.0.2", "198.18.0.3", "198.18.0.4", "198.18.0.9",
                                  "198.18.0.10", "2001:2::b"));
}

TEST(MeshPeersTest, FamilyAndIncludeSelf) {
  MeshPlan plan = Plan({"mesh.lab"}, AF_INET);
  plan.include_self = true;
  auto peers = ExpandMesh(plan, ScriptedHost(kLab), "scheduled_probes[0]");
  ASSERT_THAT(peers, IsOk());
  EXPECT_THAT(*peers,
              ElementsAre("198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.10"));
}

TEST(MeshPeersTest, ErrorsNameTheFieldAndTheLimit) {
  const MeshHost host = ScriptedHost(kLab);
  EXPECT_EQ(ExpandMesh(Plan({"mesh.lab", "v6.lab"}, AF_INET), host, "scheduled_probes[0]")
                .status()
                .message(),
            "scheduled_probes[0].mesh.peers[1]: 'v6.lab' resolves to no IPv4 address");
  EXPECT_EQ(
      ExpandMesh(Plan({"198.18.0.1"}), host, "scheduled_probes[2]").status().message(),
      "scheduled_probes[2].mesh.peers[0]: '198.18.0.1' resolves only to this agent's own "
      "addresses (198.18.0.1), which are left out unless mesh.include_self is set");
  EXPECT_THAT(ExpandMesh(Plan({"x.lab"}), host, "scheduled_probes[0]"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("scheduled_probes[0].mesh.peers[0]: 'x.lab'")));
  MeshPlan small = Plan({"mesh.lab"});
  small.max_peers = 3;
  EXPECT_EQ(ExpandMesh(small, host, "scheduled_probes[0]").status().message(),
            "scheduled_probes[0].mesh.max_peers: 'mesh.lab' expands to 4 peers, above "
            "max_peers 3");
}

TEST(MeshPeersTest, ExpandMeshesNowFillsPeersAndChecksTheBudget) {
  auto schedule = Mesh(R"pb(peers: "mesh.lab" ping: true max_attempts_per_second: 1)pb",
                       "seconds: 4");
  ASSERT_THAT(schedule, IsOk());
  ScheduleConfig fits = *schedule;
  MeshHost host = ScriptedHost({{"mesh.lab", {"198.18.0.2", "198.18.0.3"}}});
  ASSERT_THAT(ExpandMeshesNow(&fits, host), IsOk());
  EXPECT_THAT(fits.meshes[0].peers, ElementsAre("198.18.0.2", "198.18.0.3"));
  ScheduleConfig too_many = *schedule;
  EXPECT_EQ(ExpandMeshesNow(&too_many, ScriptedHost(kLab)).message(),
            "scheduled_probes[0].interval: 4s is too short for 4 peers: 4 attempts at "
            "mesh.max_attempts_per_second 1 take 4s, plus mesh.timeout 1s");
}

// ---- the round runner ----

// Answers each attempt after `rtt` unless its peer is dead (then after the
// attempt's timeout, unanswered); refuses kinds in `refuse`.
class ScriptedStarter final : public ProbeStarter {
 public:
  struct Started {
    absl::Duration at;
    std::string kind;
    std::string peer;
    std::string caller;
  };

  explicit ScriptedStarter(EventLoop* loop) : loop_(loop) {}

  absl::StatusOr<ProbeRegistry::ProbeId> Start(
      const Caller& caller, const v1::PingRequest& request,
      std::shared_ptr<EventSink<v1::PingEvent>> sink) override {
    return Launch(caller, "Ping", request.targets(0), FromProto(request.timeout()), sink);
  }
  absl::StatusOr<ProbeRegistry::ProbeId> Start(
      const Caller& caller, const v1::TcpConnectRequest& request,
      std::shared_ptr<EventSink<v1::TcpConnectEvent>> sink) override {
    return Launch(caller, "TcpConnect", request.targets(0), FromProto(request.timeout()),
                  sink);
  }
  absl::StatusOr<ProbeRegistry::ProbeId> Start(
      const Caller& caller, const v1::UdpEchoRequest& request,
      std::shared_ptr<EventSink<v1::UdpEchoEvent>> sink) override {
    return Launch(caller, "UdpEcho", request.target(), FromProto(request.timeout()),
                  sink);
  }
  absl::StatusOr<ProbeRegistry::ProbeId> Start(
      const Caller&, const v1::TracerouteRequest&,
      std::shared_ptr<EventSink<v1::TracerouteEvent>>) override {
    return absl::UnimplementedError("traceroute");
  }
  absl::StatusOr<ProbeRegistry::ProbeId> Start(
      const Caller&, const v1::ThroughputRequest&,
      std::shared_ptr<EventSink<v1::ThroughputEvent>>) override {
    return absl::UnimplementedError("throughput");
  }
  void Cancel(ProbeRegistry::ProbeId id) override {
    if (live_.erase(id) > 0) --in_flight_;
    cancelled_.push_back(id);
  }

  std::vector<Started> started;
  std::set<std::string> dead;
  std::set<std::string> refuse;
  absl::Duration rtt = absl::Milliseconds(2);
  size_t max_in_flight = 0;
  size_t in_flight() const { return in_flight_; }
  const std::vector<ProbeRegistry::ProbeId>& cancelled() const { return cancelled_; }

 private:
  static void Answer(v1::PingEvent& e, absl::Duration rtt) {
    e.mutable_reply()->mutable_result()->set_outcome(v1::OUTCOME_OK);
    ToProto(rtt, e.mutable_reply()->mutable_rtt());
  }
  static void Answer(v1::UdpEchoEvent& e, absl::Duration rtt) {
    e.mutable_reply()->mutable_result()->set_outcome(v1::OUTCOME_OK);
    ToProto(rtt, e.mutable_reply()->mutable_rtt());
  }
  static void Answer(v1::TcpConnectEvent& e, absl::Duration rtt) {
    e.mutable_attempt()->mutable_result()->set_outcome(v1::OUTCOME_OK);
    ToProto(rtt, e.mutable_attempt()->mutable_connect_time());
  }

  template <typename Event>
  absl::StatusOr<ProbeRegistry::ProbeId> Launch(const Caller& caller,
                                                const std::string& kind,
                                                const std::string& target,
                                                absl::Duration timeout,
                                                std::shared_ptr<EventSink<Event>> sink) {
    if (refuse.count(kind) > 0) {
      return absl::PermissionDeniedError(absl::StrCat(kind, " is not enabled"));
    }
    std::string peer = target;
    if (kind != "Ping") {
      peer = peer.substr(0, peer.rfind(':'));
      if (!peer.empty() && peer.front() == '[') peer = peer.substr(1, peer.size() - 2);
    }
    started.push_back({loop_->Now(), kind, peer, caller.peer});
    const ProbeRegistry::ProbeId id = next_id_++;
    live_.insert(id);
    max_in_flight = std::max(max_in_flight, ++in_flight_);
    const bool answered = dead.count(peer) == 0;
    loop_->RunAfter(answered ? rtt : timeout,
                    [this, id, sink, answered, peer, rtt = rtt] {
                      if (live_.erase(id) == 0) return;  // cancelled
                      --in_flight_;
                      if (answered) {
                        Event reply;
                        Answer(reply, rtt);
                        sink->Emit(std::move(reply));
                      }
                      Event summary;
                      summary.mutable_summary()->mutable_target()->set_host(peer);
                      summary.mutable_summary()->set_sent(1);
                      summary.mutable_summary()->set_received(answered ? 1 : 0);
                      sink->Emit(std::move(summary));
                      sink->Finish(absl::OkStatus());
                    });
    return id;
  }

  EventLoop* const loop_;
  ProbeRegistry::ProbeId next_id_ = 1;
  std::set<ProbeRegistry::ProbeId> live_;
  size_t in_flight_ = 0;
  std::vector<ProbeRegistry::ProbeId> cancelled_;
};

class RecordingObserver final : public MeshObserver {
 public:
  void OnPeers(const MeshSpec&, const std::vector<std::string>& peers,
               const std::vector<std::string>& gone) override {
    peer_sets.push_back(peers);
    gone_sets.push_back(gone);
  }
  void OnRound(const MeshSpec&, const MeshRound& round) override {
    rounds.push_back(round);
  }
  void OnSkipped(const MeshSpec&) override { ++skipped; }
  void OnResolveError(const MeshSpec&, const absl::Status& error) override {
    resolve_errors.push_back(std::string(error.message()));
  }
  void OnRemoved(const std::string& name) override { removed.push_back(name); }

  std::vector<std::vector<std::string>> peer_sets, gone_sets;
  std::vector<MeshRound> rounds;
  int skipped = 0;
  std::vector<std::string> resolve_errors;
  std::vector<std::string> removed;
};

std::vector<std::string> Peers(int n) {
  std::vector<std::string> peers;
  for (int i = 1; i <= n; ++i) peers.push_back(absl::StrCat("198.18.1.", i));
  std::sort(peers.begin(), peers.end());
  return peers;
}

MeshSpec Spec(int peers, std::vector<MeshKind> kinds, absl::Duration interval,
              uint32_t rate = 100, absl::Duration timeout = absl::Seconds(1)) {
  MeshSpec spec;
  spec.name = "mesh";
  spec.field = "scheduled_probes[0]";
  spec.interval = interval;
  spec.plan.names = {"mesh.lab"};
  spec.plan.kinds = std::move(kinds);
  spec.plan.rate = rate;
  spec.plan.timeout = timeout;
  spec.plan.rtt_buckets = DefaultMeshRttBuckets();
  spec.plan.resolve_interval = absl::Hours(1);  // no expansion unless a test asks
  spec.peers = Peers(peers);
  return spec;
}

class MeshRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create(&clock_);
    ASSERT_THAT(loop, IsOk());
    loop_ = *std::move(loop);
    starter_ = std::make_unique<ScriptedStarter>(loop_.get());
  }
  void TearDown() override {
    if (mesh_ != nullptr) OnLoop([&] { mesh_->Stop(); });
  }

  void Make(size_t max_in_flight = kMeshInFlight, MeshHost host = {}) {
    MeshSchedulerOptions options;
    options.host = host.resolve ? host : ScriptedHost({});
    options.seed = 7;
    options.max_in_flight = max_in_flight;
    options.log = [this](const std::string& line) { logged_.push_back(line); };
    mesh_ = std::make_unique<MeshScheduler>(loop_.get(), starter_.get(), observer(),
                                            std::move(options));
  }
  virtual MeshObserver* observer() { return &recorder_; }

  void OnLoop(const std::function<void()>& task) {
    loop_->Post(task);
    loop_->RunOnce();
  }
  void Set(std::vector<MeshSpec> specs) {
    start_ = clock_.Monotonic();
    OnLoop([&] { mesh_->Set(std::move(specs)); });
  }
  void RunTo(absl::Duration since_start) {
    RunUntil(*loop_, clock_, start_ + since_start);
  }

  FakeClock clock_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<ScriptedStarter> starter_;
  RecordingObserver recorder_;
  std::unique_ptr<MeshScheduler> mesh_;
  absl::Duration start_;
  std::vector<std::string> logged_;
};

TEST_F(MeshRunnerTest, SpreadsARoundOverTheIntervalLessTheTimeout) {
  Make();
  // 10 peers x 2 kinds = 20 attempts over 10s - 1s: one every 450ms.
  Set({Spec(10, {{"Ping", 0}, {"UdpEcho", 7}}, absl::Seconds(10))});
  RunTo(absl::Seconds(9.99));
  const auto& started = starter_->started;
  ASSERT_EQ(started.size(), 20u);
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < started.size(); ++i) {
    EXPECT_EQ(started[i].at - start_, absl::Milliseconds(450) * static_cast<double>(i));
    EXPECT_LT(started[i].at - start_, absl::Seconds(9));
    EXPECT_EQ(started[i].caller, "scheduler:mesh");
    seen.insert({started[i].peer, started[i].kind});
  }
  EXPECT_EQ(seen.size(), 20u);
  ASSERT_EQ(recorder_.rounds.size(), 1u);
  const MeshRound& round = recorder_.rounds[0];
  EXPECT_EQ(round.duration, absl::Milliseconds(450 * 19 + 2));
  ASSERT_EQ(round.results.size(), 20u);
  for (const MeshPeerResult& result : round.results) {
    EXPECT_EQ(result.sent, 1u);
    EXPECT_EQ(result.answered, 1u);
    EXPECT_THAT(result.rtts, ElementsAre(absl::Milliseconds(2)));
  }
  // The next round is due at 10s.
  RunTo(absl::Seconds(10));
  EXPECT_EQ(started.size(), 21u);
  EXPECT_EQ(started.back().at - start_, absl::Seconds(10));
}

TEST_F(MeshRunnerTest, NeverFasterThanTheRateAndSkipsRoundsDueWhileOneRuns) {
  Make();
  // 150 attempts at 10/s take 15s: more than the 10s interval (a fleet grown
  // past its budget). Each start 100ms after the last; the round due at 10s
  // is skipped; the next starts at 20s.
  Set({Spec(150, {{"Ping", 0}}, absl::Seconds(10), /*rate=*/10)});
  RunTo(absl::Seconds(19.99));
  const auto& started = starter_->started;
  ASSERT_EQ(started.size(), 150u);
  for (size_t i = 1; i < started.size(); ++i) {
    EXPECT_GE(started[i].at - started[i - 1].at, absl::Milliseconds(100)) << i;
  }
  EXPECT_EQ(recorder_.skipped, 1);
  ASSERT_EQ(recorder_.rounds.size(), 1u);
  RunTo(absl::Seconds(20));
  EXPECT_EQ(started.size(), 151u);
}

TEST_F(MeshRunnerTest, RotatesTheOrderAtRandomEachRound) {
  Make();
  Set({Spec(20, {{"Ping", 0}}, absl::Seconds(5))});
  RunTo(absl::Seconds(5 * 6 - 0.01));
  const auto& started = starter_->started;
  ASSERT_EQ(started.size(), 120u);
  std::set<std::string> firsts;
  for (size_t round = 0; round < 6; ++round) {
    std::set<std::string> peers;
    for (size_t i = 0; i < 20; ++i) peers.insert(started[round * 20 + i].peer);
    EXPECT_EQ(peers.size(), 20u);
    firsts.insert(started[round * 20].peer);
    // Rotated, not shuffled: the order goes on from where it began.
    const auto all = Peers(20);
    const size_t offset =
        std::find(all.begin(), all.end(), started[round * 20].peer) - all.begin();
    for (size_t i = 0; i < 20; ++i) {
      EXPECT_EQ(started[round * 20 + i].peer, all[(offset + i) % 20]);
    }
  }
  EXPECT_GT(firsts.size(), 1u);
}

TEST_F(MeshRunnerTest, BoundsTheAttemptsInFlightAndDefersTheRest) {
  Make(/*max_in_flight=*/3);
  // Every peer dead: each attempt waits its whole 1s timeout; 30 attempts
  // due 33ms apart meet the cap of 3 and wait their turn.
  MeshSpec spec = Spec(30, {{"Ping", 0}}, absl::Seconds(2), /*rate=*/1000);
  for (const std::string& peer : spec.peers) starter_->dead.insert(peer);
  Set({spec});
  RunTo(absl::Seconds(11));
  EXPECT_EQ(starter_->max_in_flight, 3u);
  EXPECT_EQ(starter_->started.size(), 30u);
  ASSERT_EQ(recorder_.rounds.size(), 1u);
  // Ten waves of three, each waiting 1s, the last started at 9s + 66ms.
  EXPECT_GE(recorder_.rounds[0].duration, absl::Seconds(10));
  EXPECT_LT(recorder_.rounds[0].duration, absl::Seconds(10.1));
  for (const MeshPeerResult& result : recorder_.rounds[0].results) {
    EXPECT_EQ(result.sent, 1u);
    EXPECT_EQ(result.answered, 0u);
  }
  EXPECT_EQ(recorder_.skipped, 5);  // due at 2, 4, 6, 8 and 10s
}

TEST_F(MeshRunnerTest, AnAttemptThatCannotStartIsALossAndLoggedOnce) {
  Make();
  starter_->refuse = {"TcpConnect"};
  Set({Spec(3, {{"Ping", 0}, {"TcpConnect", 7431}}, absl::Seconds(10))});
  RunTo(absl::Seconds(9.99));
  ASSERT_EQ(recorder_.rounds.size(), 1u);
  for (const MeshPeerResult& result : recorder_.rounds[0].results) {
    EXPECT_EQ(result.answered, result.kind == "Ping" ? 1u : 0u);
    EXPECT_EQ(result.errors, result.kind == "Ping" ? 0u : 1u);
  }
  EXPECT_THAT(logged_, ElementsAre("mesh 'mesh': a TcpConnect attempt could not start: "
                                   "TcpConnect is not enabled"));
}

TEST_F(MeshRunnerTest, NewPeersApplyAfterTheRoundAndFailedExpansionsKeepTheLast) {
  std::vector<absl::StatusOr<std::vector<SocketAddress>>> answers = {
      std::vector<SocketAddress>{Ip("198.18.1.1"), Ip("198.18.1.2")},
      std::vector<SocketAddress>{},
      std::vector<SocketAddress>{},
      std::vector<SocketAddress>{Ip("198.18.1.2"), Ip("198.18.1.3")},
  };
  size_t call = 0;
  MeshHost host = ScriptedHost({});
  host.resolve = [&](const std::string&, int, absl::string_view) {
    return answers[std::min(call++, answers.size() - 1)];
  };
  Make(kMeshInFlight, host);
  MeshSpec spec = Spec(0, {{"Ping", 0}}, absl::Seconds(10));
  spec.plan.resolve_interval.reset();  // every round
  Set({spec});
  // No peers yet: the first expansion gives 1 and 2; round 2 probes them.
  RunTo(absl::Seconds(40));
  EXPECT_THAT(recorder_.peer_sets.back(), ElementsAre("198.18.1.2", "198.18.1.3"));
  EXPECT_THAT(recorder_.gone_sets.back(), ElementsAre("198.18.1.1"));
  // Two failed (empty) expansions: counted, logged once, peers kept.
  EXPECT_EQ(recorder_.resolve_errors.size(), 2u);
  EXPECT_EQ(logged_.size(), 1u);
  EXPECT_THAT(logged_[0],
              HasSubstr("resolves to no address; keeping the last good peers (2)"));
  ASSERT_EQ(recorder_.rounds.size(), 3u);  // at 10, 20 and 30s
  EXPECT_EQ(recorder_.rounds[0].results[0].peer, "198.18.1.1");
  EXPECT_EQ(recorder_.rounds[2].results.size(), 2u);
  const std::vector<v1::ScheduledProbeInfo> info = mesh_->Describe();
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].kind(), "Mesh");
  EXPECT_THAT(info[0].targets(), ElementsAre("mesh.lab"));
  EXPECT_THAT(info[0].peers(), ElementsAre("198.18.1.2", "198.18.1.3"));
}

TEST_F(MeshRunnerTest, SetCancelsTheAttemptsInFlightAndReportsChangedEntries) {
  Make();
  MeshSpec spec = Spec(10, {{"Ping", 0}}, absl::Seconds(10), 1000, absl::Seconds(5));
  for (const std::string& peer : spec.peers) starter_->dead.insert(peer);
  Set({spec});
  RunTo(absl::Seconds(2));
  EXPECT_EQ(starter_->in_flight(), 5u);  // every 500ms, each waiting 5s
  MeshSpec changed = spec;
  changed.request.set_count(2);
  Set({changed});
  EXPECT_EQ(starter_->cancelled().size(), 5u);
  EXPECT_THAT(recorder_.removed, ElementsAre("mesh"));
  Set({changed});  // unchanged: not removed
  EXPECT_THAT(recorder_.removed, ElementsAre("mesh"));
  Set({});
  EXPECT_THAT(recorder_.removed, ElementsAre("mesh", "mesh"));
  EXPECT_EQ(starter_->in_flight(), 0u);
  EXPECT_TRUE(recorder_.rounds.empty());
}

// ---- metrics ----

class MeshMetricsTest : public MeshRunnerTest {
 protected:
  MeshObserver* observer() override { return &metrics_; }
  metrics::Registry registry_;
  MeshMetrics metrics_{&registry_};
};

TEST_F(MeshMetricsTest, SeriesPerPeerAndKindAndPerEntry) {
  Make();
  MeshSpec spec = Spec(2, {{"Ping", 0}, {"UdpEcho", 7}}, absl::Seconds(10));
  spec.labels = {{"fleet", "lab"}};
  starter_->dead.insert("198.18.1.2");
  Set({spec});
  RunTo(absl::Seconds(9.99));
  const std::string text = registry_.Render();
  const std::string p1 = R"(probe="mesh",fleet="lab",kind="Ping",peer="198.18.1.1")";
  const std::string p2 = R"(probe="mesh",fleet="lab",kind="Ping",peer="198.18.1.2")";
  EXPECT_THAT(text, HasSubstr("netprobe_mesh_success{" + p1 + "} 1\n"));
  EXPECT_THAT(text, HasSubstr("netprobe_mesh_success{" + p2 + "} 0\n"));
  EXPECT_THAT(text, HasSubstr("netprobe_mesh_loss_ratio{" + p2 + "} 1\n"));
  EXPECT_THAT(text, HasSubstr("netprobe_mesh_rtt_avg_seconds{" + p1 + "} 0.002\n"));
  EXPECT_THAT(text, Not(HasSubstr("netprobe_mesh_rtt_avg_seconds{" + p2)));
  EXPECT_THAT(text,
              HasSubstr("netprobe_mesh_rtt_seconds_bucket{" + p1 + R"(,le="0.0025"} 1)"));
  // No histogram series until an attempt to the peer was answered.
  EXPECT_THAT(text, Not(HasSubstr("netprobe_mesh_rtt_seconds_count{" + p2)));
  EXPECT_THAT(text, HasSubstr(R"(netprobe_mesh_peers{probe="mesh",fleet="lab"} 2)"));
  EXPECT_THAT(text,
              HasSubstr(R"(netprobe_mesh_rounds_total{probe="mesh",fleet="lab"} 1)"));
  EXPECT_THAT(
      text,
      HasSubstr(R"(netprobe_mesh_round_duration_seconds{probe="mesh",fleet="lab"} )"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(netprobe_mesh_attempts_total{probe="mesh",fleet="lab",kind="UdpEcho"} 2)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(netprobe_mesh_answers_total{probe="mesh",fleet="lab",kind="UdpEcho"} 1)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(netprobe_mesh_attempt_errors_total{probe="mesh",fleet="lab",kind="Ping"} 0)"));
  EXPECT_THAT(
      text,
      HasSubstr(R"(netprobe_mesh_resolve_errors_total{probe="mesh",fleet="lab"} 0)"));
  EXPECT_THAT(
      text,
      HasSubstr(R"(netprobe_mesh_skipped_rounds_total{probe="mesh",fleet="lab"} 0)"));
  // Series count: the answering peer 2 kinds x (3 + 10 + 3); the dead one
  // 2 x 2 (no average, no histogram); 5 per entry; 3 per kind.
  size_t series = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, "netprobe_mesh_")) ++series;
  }
  EXPECT_EQ(series, 2u * 16 + 2 * 2 + 5 + 3 * 2);
}

TEST_F(MeshMetricsTest, PeersGoneAndEntriesRemovedLeaveNoSeries) {
  Make();
  MeshSpec spec = Spec(3, {{"Ping", 0}}, absl::Seconds(10));
  Set({spec});
  RunTo(absl::Seconds(9.99));
  EXPECT_THAT(registry_.Render(), HasSubstr(R"(peer="198.18.1.3")"));
  // A reload whose expansion lost a peer: its series go at once.
  MeshSpec fewer = spec;
  fewer.peers = Peers(2);
  Set({fewer});
  EXPECT_THAT(registry_.Render(), Not(HasSubstr(R"(peer="198.18.1.3")")));
  EXPECT_THAT(registry_.Render(), HasSubstr(R"(peer="198.18.1.2")"));
  Set({});
  EXPECT_THAT(registry_.Render(), Not(HasSubstr("{probe=\"mesh\"")));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
