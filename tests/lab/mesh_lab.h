#ifndef NETPROBE_TESTS_LAB_MESH_LAB_H_
#define NETPROBE_TESTS_LAB_MESH_LAB_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/lab/lab.h"

namespace netprobe::testing {

// The name every mesh agent's entry expands (each lab host's hosts file
// lists the members' IPv4 addresses under it).
inline constexpr char kMeshName[] = "mesh.lab";
// Each agent's UDP echo responder and TCP (gRPC, plaintext) listener: the
// same port on every peer, as a mesh needs; every agent has a network
// namespace of its own, so these fixed ports cannot collide.
inline constexpr int kMeshUdpEchoPort = 7;
inline constexpr int kMeshTcpPort = 7431;

struct MeshLabOptions {
  // Agents on lab hosts 0..agents-1.
  int agents = 20;
  // Further lab hosts with no agent (e.g. one for Prometheus), after them;
  // their hosts files hold the mesh name too.
  int extra_hosts = 0;
  absl::Duration interval = absl::Seconds(2);
  absl::Duration timeout = absl::Milliseconds(300);
  bool ping = true;
  bool udp_echo = true;
  bool tcp = true;
  // Text-format fields added inside `mesh { }` (e.g. "max_peers: 50"),
  // inside `scheduled_probes { }`, and at the config's top level.
  std::string mesh_fields;
  std::string entry_fields;
  std::string config_fields;
};

// One sample line of an exposition: `name{labels} value`.
struct MetricSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses the sample lines of a Prometheus text exposition (comments and
// blank lines skipped; label values unescaped). INVALID_ARGUMENT naming the
// line when one does not parse.
absl::StatusOr<std::vector<MetricSample>> ParseExposition(const std::string& text);

// The samples named `name` whose labels include every pair of `labels`.
std::vector<MetricSample> Select(const std::vector<MetricSample>& samples,
                                 const std::string& name,
                                 const std::map<std::string, std::string>& labels = {});

// N real agents in a Lab::Create(N + extra_hosts), each with a config file
// holding one scheduled mesh entry "mesh" (labels fleet="lab") on kMeshName,
// a UDP echo responder on kMeshUdpEchoPort, a gRPC listener on its lab
// address port kMeshTcpPort (and the lab's unix socket), and metrics_listen
// on its lab IPv4 address, port 0 (the bound address read from its log).
// Not thread-safe: one test thread drives it.
class MeshLab {
 public:
  // Creates the lab, writes every host's hosts file (kMeshName -> all agents'
  // IPv4 addresses) and every agent's config, and starts the agents.
  static absl::StatusOr<std::unique_ptr<MeshLab>> Start(const MeshLabOptions& options);

  Lab& lab() { return *lab_; }
  const MeshLabOptions& options() const { return options_; }
  int agents() const { return options_.agents; }
  // Agent i's lab IPv4 address: what the others report as its `peer`.
  const std::string& address(int i) const { return lab_->host(i).ipv4; }
  // "198.18.0.10:40123": where agent i serves /metrics (from its log; the
  // same after a restart is not promised: port 0 again).
  const std::string& metrics_address(int i) const { return metrics_.at(i); }
  const std::string& config_path(int i) const { return config_paths_.at(i); }
  // The config text MeshLab writes for agent i (options applied).
  std::string ConfigText(int i) const;
  // Agent i's process (stderr read so far: agent(i).process().err()).
  LabAgent& agent(int i) { return *agents_.at(i); }
  bool running(int i) const { return agents_.at(i) != nullptr; }

  // GET /metrics of agent i from inside its namespace (a socket opened
  // there), 5 s at most. Also reads what agent i logged meanwhile (its
  // stderr pipe must not fill).
  absl::StatusOr<std::string> ScrapeText(int i);
  absl::StatusOr<std::vector<MetricSample>> Scrape(int i);

  // SIGTERM, then waits for agent i to exit (10 s at most).
  absl::Status StopAgent(int i);
  // Starts agent i again with its config file (as it is now).
  absl::Status StartAgent(int i);
  // Writes agent i's config file (e.g. a bad one before Reload).
  absl::Status WriteConfig(int i, const std::string& text);
  // SIGHUP to agent i; waits until it logs the outcome ("SIGHUP:" line)
  // and returns that line.
  absl::StatusOr<std::string> Reload(int i);

  // Rewrites every lab host's hosts file in place so kMeshName lists the
  // agents `members` (indexes) only.
  absl::Status SetMeshMembers(const std::vector<int>& members);
  // The hosts file text for `members`.
  std::string HostsText(const std::vector<int>& members) const;

 private:
  MeshLab() = default;

  MeshLabOptions options_;
  std::unique_ptr<Lab> lab_;
  std::vector<std::unique_ptr<LabAgent>> agents_;
  std::vector<std::string> metrics_;
  std::vector<std::string> config_paths_;
};

}  // namespace netprobe::testing

#endif  // NETPROBE_TESTS_LAB_MESH_LAB_H_
