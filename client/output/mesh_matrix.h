#ifndef NETPROBE_CLIENT_OUTPUT_MESH_MATRIX_H_
#define NETPROBE_CLIENT_OUTPUT_MESH_MATRIX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace netprobe::client {

// One cell of `netprobe mesh`: what agent `source` measured pinging agent
// `destination` at `address`.
struct MeshCell {
  std::string source;
  std::string destination;
  std::string address;  // the destination's probe address; empty: unknown
  uint64_t sent = 0;
  uint64_t received = 0;
  // 0..100; unset when the source failed (nothing was measured). A
  // destination without a probe address counts as unreachable: 100.
  std::optional<double> loss_percent;
  std::optional<absl::Duration> rtt_median;  // unset: no answer
  std::string error;                         // empty: the ping ran
};

// The median of `rtts` (the mean of the two middle values for an even
// count); unset for none.
std::optional<absl::Duration> MedianRtt(std::vector<absl::Duration> rtts);

// The matrix as text for a person: a table of loss % and one of median RTT
// in ms, one row per source and one column per destination, both in the
// order of `names`; '-' on the diagonal, "err" where the source failed,
// '*' where nothing answered. `cells` holds any subset of the off-diagonal
// pairs (a missing pair prints as "?"):
//
//   --- mesh loss % (row: source, column: destination) ---
//          h0    h1    h2
//   h0      -    0%  100%
//   h1     0%     -  100%
//   h2    err   err     -
//
//   --- mesh median RTT ms ---
//   ...
std::string FormatMeshMatrix(const std::vector<std::string>& names,
                             const std::vector<MeshCell>& cells);

// One JSON object (no newline) with the cell's fields: source, destination,
// address, sent, received, loss (percent, null when unmeasured),
// rtt_median_ms (null without an answer), error ("" when none).
std::string FormatMeshCellJson(const MeshCell& cell);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_MESH_MATRIX_H_
