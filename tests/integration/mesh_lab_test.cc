// Issue 23: the mesh scheduled probe end to end. Real agents in lab
// namespaces (tests/lab/mesh_lab.h), each expanding the name "mesh.lab" from
// its hosts file to every agent's address and probing them (ping, UDP echo
// to the peers' responders, TCP connect to their gRPC listeners); what they
// report is read from their /metrics. Bad input at start and at SIGHUP.
#include "tests/lab/mesh_lab.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/net/monotonic_clock.h"
#include "tests/lab/lab.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {
namespace NETPROBE_UNITY_ID {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

const std::vector<std::string> kAllKinds = {"Ping", "TcpConnect", "UdpEcho"};

// What one agent's /metrics says of its mesh entry: success per peer and
// kind, and the peers gauge (-1: absent).
struct MeshView {
  std::map<std::string, std::map<std::string, double>> success;  // peer -> kind -> value
  std::set<std::string> peers_with_series;  // any netprobe_mesh_* series naming the peer
  double peers = -1;
  double rounds = -1;
};

MeshView View(const std::vector<MetricSample>& samples,
              const std::map<std::string, std::string>& labels) {
  MeshView view;
  for (const MetricSample& s : samples) {
    if (s.name.rfind("netprobe_mesh_", 0) != 0) continue;
    bool match = true;
    for (const auto& [key, value] : labels) {
      auto it = s.labels.find(key);
      if (it == s.labels.end() || it->second != value) match = false;
    }
    if (!match) continue;
    auto peer = s.labels.find("peer");
    if (peer != s.labels.end()) view.peers_with_series.insert(peer->second);
    if (s.name == "netprobe_mesh_success" && peer != s.labels.end()) {
      view.success[peer->second][s.labels.count("kind") ? s.labels.at("kind") : ""] =
          s.value;
    } else if (s.name == "netprobe_mesh_peers") {
      view.peers = s.value;
    } else if (s.name == "netprobe_mesh_rounds_total") {
      view.rounds = s.value;
    }
  }
  return view;
}

// "" when `view` has exactly `expected` (peer -> kind -> success) as its
// success series and `expected.size()` as its peers gauge; else what differs.
std::string Differs(
    const MeshView& view,
    const std::map<std::string, std::map<std::string, double>>& expected) {
  std::vector<std::string> out;
  if (view.peers != static_cast<double>(expected.size())) {
    out.push_back(
        absl::StrCat("netprobe_mesh_peers ", view.peers, ", want ", expected.size()));
  }
  for (const auto& [peer, kinds] : expected) {
    auto it = view.success.find(peer);
    if (it == view.success.end()) {
      out.push_back(absl::StrCat(peer, ": no success series"));
      continue;
    }
    for (const auto& [kind, value] : kinds) {
      auto k = it->second.find(kind);
      if (k == it->second.end()) {
        out.push_back(absl::StrCat(peer, " ", kind, ": no series"));
      } else if (k->second != value) {
        out.push_back(absl::StrCat(peer, " ", kind, ": ", k->second, ", want ", value));
      }
    }
    if (it->second.size() != kinds.size()) {
      out.push_back(
          absl::StrCat(peer, ": ", it->second.size(), " kinds, want ", kinds.size()));
    }
  }
  for (const std::string& peer : view.peers_with_series) {
    if (!expected.count(peer))
      out.push_back(absl::StrCat(peer, ": series of a non-peer"));
  }
  return absl::StrJoin(out, "; ");
}

// When every agent reported what WaitForAll waited for: `last_unmet` is the
// start of the last scrape that still showed otherwise (the change came
// after it: a bound that a slow scrape pass cannot push out), `all_met` the
// end of the scrape that showed the last agent done.
struct Reached {
  absl::Duration last_unmet = absl::ZeroDuration();
  absl::Duration all_met = absl::ZeroDuration();
};

// Every agent of `agents` in `mesh` reports `expected(agent)` before
// `deadline` (scraping those not done yet each pass, every 100 ms); or the
// differences left at the deadline as a failure.
absl::StatusOr<Reached> WaitForAll(
    MeshLab& mesh, const std::vector<int>& agents,
    const std::function<std::map<std::string, std::map<std::string, double>>(int)>&
        expected,
    absl::Duration deadline) {
  std::map<int, std::string> pending;
  for (int a : agents) pending[a] = "not scraped";
  Reached reached;
  while (true) {
    for (auto it = pending.begin(); it != pending.end();) {
      const absl::Duration start = MonotonicNow();
      auto samples = mesh.Scrape(it->first);
      if (!samples.ok()) return samples.status();
      it->second = Differs(View(*samples, {{"probe", "mesh"}, {"fleet", "lab"}}),
                           expected(it->first));
      if (it->second.empty()) {
        reached.all_met = MonotonicNow();
        it = pending.erase(it);
      } else {
        reached.last_unmet = start;
        ++it;
      }
    }
    if (pending.empty()) return reached;
    if (MonotonicNow() > deadline) {
      std::string text;
      for (const auto& [a, diff] : pending)
        absl::StrAppend(&text, "agent ", a, ": ", diff, "\n");
      return absl::DeadlineExceededError(text);
    }
    poll(nullptr, 0, 100);
  }
}

// peer -> kind -> `value` for every agent of `peers`, less `self`.
using Expected = std::map<std::string, std::map<std::string, double>>;
Expected AllKinds(const MeshLab& mesh, const std::vector<int>& peers, int self,
                  double value = 1) {
  Expected out;
  for (int p : peers) {
    if (p == self) continue;
    for (const std::string& kind : kAllKinds) out[mesh.address(p)][kind] = value;
  }
  return out;
}

std::vector<int> Range(int n) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(i);
  return out;
}

// The issue's "done when": 20 agents, each reports its 19 peers answering
// every kind; one agent stopped (its host still up) and another host down
// (agent stopped, link down): every other agent reports them failing within
// two intervals (the stopped agent's host still answers ping); both removed
// from the name: within the next two intervals no series of them remain
// anywhere and every agent counts 17 peers.
TEST(MeshLabTest, TwentyAgentsSeeEachOtherThenAStoppedOneFailsAndLeavesNoSeries) {
  MeshLabOptions options;
  options.agents = 20;
  options.interval = absl::Seconds(2);
  options.timeout = absl::Seconds(1);
  auto started = MeshLab::Start(options);
  ASSERT_THAT(started, IsOk());
  MeshLab& mesh = **started;
  const std::vector<int> all = Range(20);

  // The round under way when the last agent started may have found some
  // peers not yet up; the next one finishes within two intervals.
  auto up = WaitForAll(
      mesh, all, [&](int a) { return AllKinds(mesh, all, a); },
      MonotonicNow() + 2 * options.interval + absl::Seconds(3));
  ASSERT_THAT(up, IsOk());

  constexpr int kStopped = 7, kDown = 13;
  ASSERT_THAT(mesh.StopAgent(kStopped), IsOk());
  ASSERT_THAT(mesh.StopAgent(kDown), IsOk());
  auto link = mesh.lab().Exec(kDown, {"ip", "link", "set", "eth0", "down"});
  ASSERT_THAT(link, IsOk());
  ASSERT_EQ(link->exit_code, 0) << link->err;
  const absl::Duration stopped = MonotonicNow();
  std::vector<int> others;
  for (int a : all) {
    if (a != kStopped && a != kDown) others.push_back(a);
  }
  // A round that started before the stop may still report success; every
  // attempt of the next one starts after it and ends before the round after
  // is due: two intervals.
  auto failing = WaitForAll(
      mesh, others,
      [&](int a) {
        Expected want = AllKinds(mesh, all, a);
        want[mesh.address(kStopped)] = {{"Ping", 1}, {"TcpConnect", 0}, {"UdpEcho", 0}};
        want[mesh.address(kDown)] = {{"Ping", 0}, {"TcpConnect", 0}, {"UdpEcho", 0}};
        return want;
      },
      stopped + 2 * options.interval + absl::Seconds(10));
  ASSERT_THAT(failing, IsOk());
  // Some agent still reported success later than two intervals after the
  // stop (its scrape started then): a round finished after that reported it.
  EXPECT_LE(failing->last_unmet - stopped, 2 * options.interval)
      << "an agent still reported a stopped peer answering "
      << absl::FormatDuration(failing->last_unmet - stopped) << " after the stop";

  // Out of the name: the next round's expansion drops them, with their series.
  ASSERT_THAT(mesh.SetMeshMembers(others), IsOk());
  const absl::Duration removed = MonotonicNow();
  auto gone = WaitForAll(
      mesh, others, [&](int a) { return AllKinds(mesh, others, a); },
      removed + 2 * options.interval + absl::Seconds(10));
  ASSERT_THAT(gone, IsOk());
  EXPECT_LE(gone->last_unmet - removed, 2 * options.interval)
      << "an agent still had series of a removed peer "
      << absl::FormatDuration(gone->last_unmet - removed)
      << " after the hosts files changed";
  // No series of any kind (histogram, loss, RTT) names them, on any agent.
  for (int a : others) {
    auto samples = mesh.Scrape(a);
    ASSERT_THAT(samples, IsOk());
    for (const MetricSample& s : *samples) {
      auto peer = s.labels.find("peer");
      if (peer == s.labels.end()) continue;
      EXPECT_NE(peer->second, mesh.address(kStopped)) << "agent " << a << ": " << s.name;
      EXPECT_NE(peer->second, mesh.address(kDown)) << "agent " << a << ": " << s.name;
    }
  }
}

// A config the agent must refuse at start: it exits non-zero at once and
// its stderr names the field (and the limit).
struct BadStart {
  std::string what;
  std::string hosts_lines;  // added to host 0's hosts file
  std::string entry;        // the scheduled_probes entry's fields
  std::vector<std::string> err_has;
};

TEST(MeshLabTest, BadMeshConfigAtStartExitsNamingTheField) {
  auto lab = Lab::Create(1);
  ASSERT_THAT(lab, IsOk());
  const std::string self = (*lab)->host(0).ipv4;
  std::string fleet_lines;
  for (int i = 100; i < 120; ++i)
    absl::StrAppend(&fleet_lines, "198.18.0.", i, " fleet.lab\n");
  const std::vector<BadStart> cases = {
      {"a name that resolves to nothing",
       "",
       R"(interval { seconds: 60 } mesh { peers: "none.lab" ping: true })",
       {"scheduled_probes[0].mesh.peers[0]", "none.lab"}},
      {"a name that resolves only to the agent's own address",
       absl::StrCat(self, " self.lab\n"),
       R"(interval { seconds: 60 } mesh { peers: "self.lab" ping: true })",
       {"scheduled_probes[0].mesh.peers[0]", "self.lab", "include_self"}},
      {"more peers than max_peers",
       fleet_lines,
       R"(interval { seconds: 60 } mesh { peers: "fleet.lab" ping: true max_peers: 5 })",
       {"scheduled_probes[0].mesh.max_peers", "20", "max_peers 5"}},
      {"an interval too short for the fleet",
       fleet_lines,
       R"(interval { seconds: 2 } mesh { peers: "fleet.lab" ping: true max_attempts_per_second: 10 })",
       {"scheduled_probes[0].interval", "mesh.max_attempts_per_second 10"}},
  };
  for (const BadStart& c : cases) {
    SCOPED_TRACE(c.what);
    ASSERT_THAT(
        (*lab)->SetHostsFile(0, absl::StrCat("127.0.0.1 localhost\n", c.hosts_lines)),
        IsOk());
    const std::string config = absl::StrCat((*lab)->dir(), "/bad.textproto");
    std::ofstream(config, std::ios::trunc)
        << "scheduled_probes { name: \"mesh\" " << c.entry << " }\n";
    auto run = (*lab)->Exec(
        0,
        {NETPROBE_AGENT_BIN, "--listen",
         absl::StrCat("unix:", (*lab)->dir(), "/bad.sock"), "--config", config},
        absl::Seconds(20));
    ASSERT_THAT(run, IsOk());
    EXPECT_NE(run->exit_code, 0) << run->err;
    for (const std::string& part : c.err_has) EXPECT_THAT(run->err, HasSubstr(part));
  }
}

// SIGHUP with a bad mesh config: the agent logs why, naming the field, and
// runs on with the old entry (its peers still probed, rounds still
// counted); a good config that changes the entry then replaces its series.
TEST(MeshLabTest, BadMeshConfigAtReloadKeepsTheRunningOne) {
  MeshLabOptions options;
  options.agents = 3;
  options.interval = absl::Seconds(2);
  options.timeout = absl::Seconds(1);
  auto started = MeshLab::Start(options);
  ASSERT_THAT(started, IsOk());
  MeshLab& mesh = **started;
  const std::vector<int> all = Range(3);
  auto up = WaitForAll(
      mesh, {0}, [&](int a) { return AllKinds(mesh, all, a); },
      MonotonicNow() + 2 * options.interval + absl::Seconds(3));
  ASSERT_THAT(up, IsOk());

  const std::string good = mesh.ConfigText(0);
  struct BadReload {
    std::string what, from, to;
    std::vector<std::string> err_has;
  };
  const std::vector<BadReload> cases = {
      {"a name that resolves to nothing",
       "peers: \"mesh.lab\"",
       "peers: \"none.lab\"",
       {"scheduled_probes[0].mesh.peers[0]", "none.lab"}},
      {"more peers than max_peers",
       "ping: true",
       "ping: true max_peers: 1",
       {"scheduled_probes[0].mesh.max_peers", "max_peers 1"}},
      {"an interval too short",
       "ping: true",
       "ping: true max_attempts_per_second: 1",
       {"scheduled_probes[0].interval", "mesh.max_attempts_per_second 1"}},
  };
  for (const BadReload& c : cases) {
    SCOPED_TRACE(c.what);
    std::string bad = good;
    ASSERT_NE(bad.find(c.from), std::string::npos) << bad;
    bad.replace(bad.find(c.from), c.from.size(), c.to);
    ASSERT_THAT(mesh.WriteConfig(0, bad), IsOk());
    auto line = mesh.Reload(0);
    ASSERT_THAT(line, IsOk());
    EXPECT_THAT(*line, HasSubstr("not reloaded"));
    for (const std::string& part : c.err_has) EXPECT_THAT(*line, HasSubstr(part));
  }
  // Still the old entry: rounds go on and both peers still answer.
  auto before = mesh.Scrape(0);
  ASSERT_THAT(before, IsOk());
  const double rounds = View(*before, {{"probe", "mesh"}}).rounds;
  ASSERT_GE(rounds, 1);
  const absl::Duration deadline =
      MonotonicNow() + 2 * options.interval + absl::Seconds(3);
  MeshView now;
  while (MonotonicNow() < deadline) {
    auto samples = mesh.Scrape(0);
    ASSERT_THAT(samples, IsOk());
    now = View(*samples, {{"probe", "mesh"}, {"fleet", "lab"}});
    if (now.rounds > rounds) break;
    poll(nullptr, 0, 100);
  }
  EXPECT_GT(now.rounds, rounds) << "no round since the bad reloads";
  EXPECT_EQ(Differs(now, AllKinds(mesh, all, 0)), "");

  // A good config that changes the entry's labels: the old series go.
  std::string relabelled = good;
  relabelled.replace(relabelled.find("value: \"lab\""), 12, "value: \"lab2\"");
  ASSERT_THAT(mesh.WriteConfig(0, relabelled), IsOk());
  auto line = mesh.Reload(0);
  ASSERT_THAT(line, IsOk());
  EXPECT_THAT(*line, AllOf(HasSubstr("reloaded"), Not(HasSubstr("not reloaded"))));
  const absl::Duration relabel_deadline =
      MonotonicNow() + 2 * options.interval + absl::Seconds(3);
  std::string diff = "not scraped";
  while (MonotonicNow() < relabel_deadline) {
    auto samples = mesh.Scrape(0);
    ASSERT_THAT(samples, IsOk());
    const MeshView old_entry = View(*samples, {{"probe", "mesh"}, {"fleet", "lab"}});
    const MeshView new_entry = View(*samples, {{"probe", "mesh"}, {"fleet", "lab2"}});
    diff = Differs(new_entry, AllKinds(mesh, all, 0));
    if (old_entry.peers_with_series.empty() && old_entry.peers < 0) {
      if (diff.empty()) break;
    } else {
      diff = absl::StrCat("series with fleet=\"lab\" remain; ", diff);
    }
    poll(nullptr, 0, 100);
  }
  EXPECT_EQ(diff, "");
}

// The fixture's exposition parser (no lab): labels with escapes, +Inf,
// timestamps, comments; a broken line is an error naming it.
TEST(MeshLabTest, ParseExpositionReadsSamplesAndRefusesBrokenLines) {
  auto samples = ParseExposition(
      "# HELP x y\n# TYPE netprobe_mesh_success gauge\n"
      "netprobe_mesh_success{probe=\"mesh\",kind=\"Ping\",peer=\"198.18.0.11\"} 1\n"
      "\n"
      "netprobe_mesh_rtt_seconds_bucket{le=\"+Inf\",note=\"a \\\"b\\\" \\\\ c\"} 3 "
      "1700000000000\n"
      "up 0.5\n"
      "big +Inf\n");
  ASSERT_THAT(samples, IsOk());
  ASSERT_EQ(samples->size(), 4u);
  EXPECT_EQ((*samples)[0].name, "netprobe_mesh_success");
  EXPECT_EQ((*samples)[0].labels.at("peer"), "198.18.0.11");
  EXPECT_EQ((*samples)[0].value, 1);
  EXPECT_EQ((*samples)[1].labels.at("le"), "+Inf");
  EXPECT_EQ((*samples)[1].labels.at("note"), "a \"b\" \\ c");
  EXPECT_EQ((*samples)[1].value, 3);
  EXPECT_EQ((*samples)[2].value, 0.5);
  EXPECT_TRUE(std::isinf((*samples)[3].value));
  EXPECT_EQ(Select(*samples, "netprobe_mesh_success", {{"kind", "Ping"}}).size(), 1u);
  EXPECT_TRUE(Select(*samples, "netprobe_mesh_success", {{"kind", "UdpEcho"}}).empty());
  EXPECT_THAT(ParseExposition("x{a=\"1\" 2\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("x{a=\"1\" 2")));
  EXPECT_THAT(ParseExposition("x notanumber\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad value")));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::testing
