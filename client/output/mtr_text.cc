#include "client/output/mtr_text.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/proto_time.h"

namespace netprobe::client {
namespace {

// mtr's report (report.c, without --report-wide): the host column is 33
// characters from the start of the line, names cut to fit; then its default
// fields "LS NABWV": Loss% "%5.1f%%", Snt "%6d", a space, and Last, Avg,
// Best, Wrst, StDev "%6.1f" each, in milliseconds.
constexpr size_t kMtrHostColumn = 33;

double ReportMs(const google::protobuf::Duration& d) {
  return absl::ToDoubleMilliseconds(FromProto(d));
}

std::string CutToHostColumn(std::string s) {
  if (s.size() > kMtrHostColumn) s.resize(kMtrHostColumn);
  return s;
}

// What mtr prints for a hop's address: its name when it has one (without
// -n), else the address.
std::string HostOf(const v1::TracerouteHop& hop, int i) {
  if (i < hop.hostnames_size() && !hop.hostnames(i).empty()) return hop.hostnames(i);
  return hop.addresses(i);
}

}  // namespace

void MtrTable::Add(const v1::TracerouteReply& reply) {
  round_ = std::max(round_, reply.round());
  if (agent_hops_) return;
  Row& row = rows_[{reply.ttl(), reply.flow()}];
  v1::TracerouteHop& hop = row.hop;
  hop.set_ttl(reply.ttl());
  hop.set_flow(reply.flow());
  hop.set_sent(hop.sent() + 1);
  if (reply.address().empty()) return;  // a timeout, a local error
  hop.set_received(hop.received() + 1);
  const auto known =
      std::find(hop.addresses().begin(), hop.addresses().end(), reply.address());
  if (known == hop.addresses().end()) {
    hop.add_addresses(reply.address());
    hop.add_hostnames(reply.hostname());
  } else if (!reply.hostname().empty()) {
    // The agent's lookup may end after the address's first replies.
    hop.set_hostnames(static_cast<int>(known - hop.addresses().begin()),
                      reply.hostname());
  }
  *hop.mutable_last() = reply.rtt();
  row.rtt.Add(FromProto(reply.rtt()));
  if (reply.reached()) hop.set_reached(true);
}

void MtrTable::SetHop(const v1::TracerouteHop& hop) {
  if (!agent_hops_) rows_.clear();
  agent_hops_ = true;
  Row& row = rows_[{hop.ttl(), hop.flow()}];
  row.hop = hop;
  row.final = true;
}

std::string MtrTable::Format(const std::string& host, absl::Time start,
                             absl::TimeZone zone) const {
  std::string out =
      absl::StrCat("Start: ", absl::FormatTime("%Y-%m-%dT%H:%M:%S%z", start, zone), "\n");
  absl::StrAppend(&out, CutToHostColumn(absl::StrFormat("HOST: %-27s", host)),
                  " Loss%   Snt   Last   Avg  Best  Wrst StDev\n");
  // The end of each flow's trace: its lowest TTL where the target answered.
  std::map<uint32_t, uint32_t> end;
  for (const auto& [key, row] : rows_) {
    if (row.hop.reached() && !end.count(key.second)) end[key.second] = key.first;
  }
  for (const auto& [key, row] : rows_) {
    const auto [ttl, flow] = key;
    if (end.count(flow) && ttl > end[flow]) continue;
    const v1::TracerouteHop& hop = row.hop;
    v1::DurationStats rtt = hop.rtt();
    if (!row.final) row.rtt.Fill(&rtt);
    std::string name = hop.addresses().empty() ? "???" : HostOf(hop, 0);
    if (flows_ > 1) absl::StrAppend(&name, " (flow ", flow, ")");
    const double loss = hop.sent() == 0
                            ? 0.0
                            : 100.0 * static_cast<double>(hop.sent() - hop.received()) /
                                  static_cast<double>(hop.sent());
    absl::StrAppend(
        &out, CutToHostColumn(absl::StrFormat(" %2d.|-- %-25s", ttl, name)),
        absl::StrFormat("%5.1f%%%6d %6.1f%6.1f%6.1f%6.1f%6.1f\n", loss, hop.sent(),
                        ReportMs(hop.last()), ReportMs(rtt.avg()), ReportMs(rtt.min()),
                        ReportMs(rtt.max()), ReportMs(rtt.stddev())));
    for (int i = 1; i < hop.addresses_size(); ++i) {
      absl::StrAppend(&out, "    |  `|-- ", HostOf(hop, i), "\n");
    }
  }
  return out;
}

}  // namespace netprobe::client
