#include "client/output/traceroute_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/proto_time.h"

namespace netprobe::client {

std::string FormatTracerouteHeader(const v1::Endpoint& target, uint32_t max_ttl,
                                   uint32_t packet_length) {
  const std::string& address =
      target.address().empty() ? target.host() : target.address();
  return absl::StrFormat("traceroute to %s (%s), %d hops max, %d byte packets\n",
                         target.host(), address, max_ttl, packet_length);
}

std::string TracerouteMark(const v1::TracerouteReply& reply) {
  const v1::AttemptResult& r = reply.result();
  const bool v6 = reply.target().family() == v1::ADDRESS_FAMILY_IPV6;
  if (r.outcome() == v1::OUTCOME_TIMEOUT || r.outcome() == v1::OUTCOME_TIME_EXCEEDED ||
      r.outcome() == v1::OUTCOME_OK || r.outcome() == v1::OUTCOME_REFUSED) {
    return "";
  }
  if (r.reported_by().empty()) return absl::StrCat("!<", r.error(), ">");
  if (v6 && r.icmp_type() == 1) {
    switch (r.icmp_code()) {
      case 0:
        return "!N";
      case 1:
        return "!X";
      case 3:
        return "!H";
      default:
        return absl::StrCat("!<", r.icmp_code(), ">");
    }
  }
  if (v6 && r.icmp_type() == 2) return "!F";
  if (!v6 && r.icmp_type() == 3) {
    switch (r.icmp_code()) {
      case 0:
      case 6:
        return "!N";
      case 1:
      case 7:
        return "!H";
      case 2:
        return "!P";
      case 4:
        return "!F";
      case 9:
      case 10:
      case 13:
        return "!X";
      default:
        return absl::StrCat("!<", r.icmp_code(), ">");
    }
  }
  return "";
}

std::string FormatIcmpExtensions(const v1::TracerouteReply& reply) {
  if (reply.mpls().empty()) return "";
  std::vector<std::string> labels;
  for (const v1::MplsLabel& l : reply.mpls()) {
    labels.push_back(absl::StrFormat("L=%d,E=%d,S=%d,T=%d", l.label(), l.traffic_class(),
                                     l.bottom_of_stack() ? 1 : 0, l.ttl()));
  }
  return absl::StrCat("<MPLS:", absl::StrJoin(labels, "/"), ">");
}

std::string FormatTracerouteLine(uint32_t ttl, int flow,
                                 const std::vector<v1::TracerouteReply>& probes,
                                 bool extensions, bool names) {
  std::string out = absl::StrFormat("%2d ", ttl);
  if (flow >= 0) absl::StrAppend(&out, " (flow ", flow, ")");
  std::string last;
  for (const v1::TracerouteReply& probe : probes) {
    if (probe.result().outcome() == v1::OUTCOME_TIMEOUT || probe.address().empty()) {
      absl::StrAppend(&out, " *");
      continue;
    }
    if (probe.address() != last) {
      if (names) {
        absl::StrAppend(&out, " ",
                        probe.hostname().empty() ? probe.address() : probe.hostname(),
                        " (", probe.address(), ")");
      } else {
        absl::StrAppend(&out, " ", probe.address());
      }
      const std::string ext = extensions ? FormatIcmpExtensions(probe) : "";
      if (!ext.empty()) absl::StrAppend(&out, " ", ext);
    }
    last = probe.address();
    absl::StrAppend(
        &out,
        absl::StrFormat("  %.3f ms", absl::ToDoubleMilliseconds(FromProto(probe.rtt()))));
    const std::string mark = TracerouteMark(probe);
    if (!mark.empty()) absl::StrAppend(&out, " ", mark);
  }
  absl::StrAppend(&out, "\n");
  return out;
}

std::string TracerouteLines::Add(const v1::TracerouteReply& reply) {
  hops_[{reply.flow(), reply.ttl()}][reply.probe()] = reply;
  return Ready(reply.flow(), false);
}

std::string TracerouteLines::Flush() {
  std::string out;
  for (uint32_t flow = 0; flow < flows_; ++flow) absl::StrAppend(&out, Ready(flow, true));
  return out;
}

// Prints the flow's lowest hops while complete (all of them when flushing):
// hop lines come in TTL order because each probe index's events do.
std::string TracerouteLines::Ready(uint32_t flow, bool flush) {
  std::string out;
  auto it = hops_.lower_bound({flow, 0});
  while (it != hops_.end() && it->first.first == flow &&
         (flush || it->second.size() == probes_per_hop_)) {
    std::vector<v1::TracerouteReply> probes;
    for (const auto& [index, probe] : it->second) probes.push_back(probe);
    absl::StrAppend(&out, FormatTracerouteLine(it->first.second,
                                               flows_ > 1 ? static_cast<int>(flow) : -1,
                                               probes, extensions_, names_));
    it = hops_.erase(it);
  }
  return out;
}

}  // namespace netprobe::client
