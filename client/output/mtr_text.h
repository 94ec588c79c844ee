#ifndef NETPROBE_CLIENT_OUTPUT_MTR_TEXT_H_
#define NETPROBE_CLIENT_OUTPUT_MTR_TEXT_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "common/target_tally.h"
#include "netprobe/v1/traceroute.pb.h"

namespace netprobe::client {

// The hops of an mtr run as `mtr --report -n` prints them, kept from the
// replies as they come (the live table, and the report after Ctrl-C, when
// the agent sends no summaries) and replaced by the agent's hop statistics
// when they arrive. Not thread-safe.
class MtrTable {
 public:
  explicit MtrTable(uint32_t flows) : flows_(flows) {}
  // One probe's outcome: Snt counts it; Loss% counts it lost unless a router
  // or the target answered.
  void Add(const v1::TracerouteReply& reply);
  // The agent's statistics of a hop: from the first, the table holds the
  // agent's hops only (those beyond the trace's end are gone).
  void SetHop(const v1::TracerouteHop& hop);
  // The report's lines, in TTL order (and flow, with several): mtr's column
  // layout, "???" for a hop no one answered, a line "    |  `|-- ADDR" for
  // every other address that answered at a hop. Hops beyond the lowest TTL
  // where the target answered are left out.
  std::string Format(const std::string& host, absl::Time start,
                     absl::TimeZone zone) const;
  // The highest round seen (redraw when it grows).
  uint32_t round() const { return round_; }

 private:
  struct Row {
    v1::TracerouteHop hop;  // sent, received, addresses, last; rtt when final
    DurationSamples rtt;    // from the replies, until the agent's hop came
    bool final = false;
  };
  const uint32_t flows_;
  std::map<std::pair<uint32_t, uint32_t>, Row> rows_;  // by (ttl, flow)
  bool agent_hops_ = false;
  uint32_t round_ = 0;
};

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_MTR_TEXT_H_
