#ifndef NETPROBE_CLIENT_OUTPUT_MESH_TABLE_H_
#define NETPROBE_CLIENT_OUTPUT_MESH_TABLE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "netprobe/v1/common.pb.h"

namespace netprobe::client {

// What one agent measured, for the table after a run on many agents.
struct MeshAgent {
  std::string name;
  std::vector<v1::TargetSummary> summaries;  // in the order they arrived
  std::string failure;  // non-empty: why the agent gave no (complete) result
};

// The mesh view: one row per agent x target, agents in the order given,
// then a row for each agent's failure:
//
//   --- ping statistics by agent ---
//   AGENT  TARGET        SENT  RECEIVED  LOSS  MIN/AVG/MAX ms
//   h0     198.18.0.11      3         3    0%  0.031/0.045/0.060
//   h2     -                -         -     -  failed: agent unreachable
//
// `what` names the probe in the title ("ping", "tcp connect", "udp echo").
// "SENT" counts attempts (connects for tcp); RTT is "-" without answers.
std::string FormatMeshTable(absl::string_view what, const std::vector<MeshAgent>& agents);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_MESH_TABLE_H_
