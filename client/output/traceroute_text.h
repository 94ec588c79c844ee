#ifndef NETPROBE_CLIENT_OUTPUT_TRACEROUTE_TEXT_H_
#define NETPROBE_CLIENT_OUTPUT_TRACEROUTE_TEXT_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "netprobe/v1/traceroute.pb.h"

namespace netprobe::client {

// "traceroute to lab.far (198.18.3.10), 30 hops max, 60 byte packets"
std::string FormatTracerouteHeader(const v1::Endpoint& target, uint32_t max_ttl,
                                   uint32_t packet_length);

// traceroute's mark for an answer ("!N", "!H", "!X", "!P", "!F"), or "" (time
// exceeded, the target's port unreachable or echo reply, a timeout).
std::string TracerouteMark(const v1::TracerouteReply& reply);

// One hop's line as `traceroute -n` prints it, from its probes in order:
//   " 1  198.18.0.1  0.123 ms  0.101 ms  0.099 ms"
//   " 2  * 198.18.1.1  0.200 ms *"
//   " 3  198.18.2.1  0.311 ms !N  0.280 ms !N  0.301 ms !N"
// An address is printed before a probe's time when it differs from the last
// answered probe's; `flow` >= 0 tags the line " (flow N)" after the TTL.
// `extensions`: the ICMP extensions after each address printed, as
// traceroute -e: " 198.18.1.2 <MPLS:L=16001,E=0,S=0,T=1/L=24005,E=0,S=1,T=1>".
// `names`: each address as traceroute prints it without -n, "name (address)"
// ("address (address)" when it has none).
std::string FormatTracerouteLine(uint32_t ttl, int flow,
                                 const std::vector<v1::TracerouteReply>& probes,
                                 bool extensions = false, bool names = false);

// "<MPLS:L=16001,E=0,S=0,T=1/L=24005,E=0,S=1,T=1>" (traceroute -e), or ""
// when the answer carried no MPLS label stack.
std::string FormatIcmpExtensions(const v1::TracerouteReply& reply);

// Collects probe events (which come per flow and probe index in TTL order,
// the indexes interleaved) and returns hop lines once each is complete, in
// TTL order per flow. Not thread-safe.
class TracerouteLines {
 public:
  TracerouteLines(uint32_t probes_per_hop, uint32_t flows, bool extensions = false,
                  bool names = false)
      : probes_per_hop_(probes_per_hop),
        flows_(flows),
        extensions_(extensions),
        names_(names) {}
  // The lines `reply` completed (possibly none).
  std::string Add(const v1::TracerouteReply& reply);
  // Lines still incomplete at the end of the stream (cut short), as far as
  // they came.
  std::string Flush();

 private:
  std::string Ready(uint32_t flow, bool flush);
  const uint32_t probes_per_hop_;
  const uint32_t flows_;
  const bool extensions_;
  const bool names_;
  // By (flow, ttl): the probes so far, by probe index.
  std::map<std::pair<uint32_t, uint32_t>, std::map<uint32_t, v1::TracerouteReply>> hops_;
};

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_TRACEROUTE_TEXT_H_
