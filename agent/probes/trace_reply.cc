#include "agent/probes/trace_reply.h"

#include <sys/socket.h>

#include <algorithm>

#include "agent/probes/attempt_result.h"
#include "common/proto_time.h"

namespace netprobe {
namespace {

bool SameAddress(const SocketAddress& a, const SocketAddress& b) {
  return a.valid() && b.valid() && a.family() == b.family() && a.ip() == b.ip();
}

// Destination unreachable (v4 type 3, v6 type 1): from the target itself,
// the probe arrived (port unreachable).
bool IsUnreachable(bool v6, uint8_t type) { return v6 ? type == 1 : type == 3; }

}  // namespace

Pacer::Options TracePacing(const TraceroutePlan& plan, uint32_t count,
                           absl::Duration interval) {
  Pacer::Options pacing;
  pacing.targets = static_cast<size_t>(plan.hops()) * plan.flows;
  pacing.count = count;
  pacing.interval = interval;
  pacing.rate = plan.rate;
  pacing.budgets = plan.admission.budgets;
  pacing.max_burst = Pacer::kSharedSocketBurst;
  pacing.spread = false;
  return pacing;
}

void FillTraceTarget(const TraceroutePlan& plan, const SocketAddress& target,
                     v1::Endpoint* out) {
  out->set_host(plan.host);
  if (target.valid()) {
    out->set_address(target.ip());
    out->set_port(target.port());
    out->set_family(target.family() == AF_INET6 ? v1::ADDRESS_FAMILY_IPV6
                                                : v1::ADDRESS_FAMILY_IPV4);
  }
}

void FillTraceReply(const TraceTransport::Answer& answer, const SocketAddress& target,
                    absl::Time sent, absl::Time now, v1::TracerouteReply* reply) {
  using Kind = TraceTransport::Answer::Kind;
  const bool v6 = target.family() == AF_INET6;
  const absl::Time received =
      answer.received != absl::InfinitePast() ? answer.received : now;
  const absl::Duration rtt = std::max(received - sent, absl::ZeroDuration());
  v1::AttemptResult* result = reply->mutable_result();
  switch (answer.kind) {
    case Kind::kEchoReply:
      result->set_outcome(v1::OUTCOME_OK);
      result->set_detail("Echo Reply");
      result->set_reported_by(answer.from.ip());
      result->set_icmp_type(answer.type);
      result->set_icmp_code(answer.code);
      break;
    case Kind::kTcpSynAck:
      result->set_outcome(v1::OUTCOME_OK);
      result->set_detail("SYN-ACK: the port is open");
      result->set_reported_by(answer.from.ip());
      break;
    case Kind::kTcpReset:
      result->set_outcome(v1::OUTCOME_REFUSED);
      result->set_detail("RST: the port is closed");
      result->set_reported_by(answer.from.ip());
      break;
    case Kind::kIcmpError:
      *result = ResultFromIcmpError(v6, answer.type, answer.code, answer.from.ip());
      break;
  }
  reply->set_address(answer.from.ip());
  ToProto(rtt, reply->mutable_rtt());
  const bool from_target = SameAddress(answer.from, target);
  reply->set_reached(from_target &&
                     (answer.kind != Kind::kIcmpError || IsUnreachable(v6, answer.type)));
  reply->set_reply_ttl(answer.reply_ttl);
  reply->set_quoted_ttl(answer.quoted_ttl);
  reply->set_next_hop_mtu(answer.next_hop_mtu);
  for (const icmp::MplsEntry& entry : answer.mpls) {
    v1::MplsLabel* label = reply->add_mpls();
    label->set_label(entry.label);
    label->set_traffic_class(entry.traffic_class);
    label->set_bottom_of_stack(entry.bottom_of_stack);
    label->set_ttl(entry.ttl);
  }
}

bool EndsTrace(const v1::TracerouteReply& reply) {
  const v1::Outcome outcome = reply.result().outcome();
  return reply.reached() || outcome == v1::OUTCOME_NET_UNREACHABLE ||
         outcome == v1::OUTCOME_HOST_UNREACHABLE || outcome == v1::OUTCOME_PROHIBITED ||
         outcome == v1::OUTCOME_PACKET_TOO_BIG;
}

void TraceHopStats::Answered(const v1::TracerouteReply& reply) {
  ++received;
  last = FromProto(reply.rtt());
  rtt.Add(last);
  if (std::find(addresses.begin(), addresses.end(), reply.address()) == addresses.end()) {
    addresses.push_back(reply.address());
  }
}

void TraceHopStats::Fill(uint32_t ttl, uint32_t flow, v1::TracerouteHop* out) const {
  out->set_ttl(ttl);
  out->set_flow(flow);
  for (const std::string& a : addresses) out->add_addresses(a);
  out->set_sent(sent);
  out->set_received(received);
  out->set_loss_percent(sent == 0 ? 0.0
                                  : 100.0 * static_cast<double>(sent - received) /
                                        static_cast<double>(sent));
  rtt.Fill(out->mutable_rtt());
  if (received > 0) ToProto(last, out->mutable_last());
  out->set_reached(reached);
  out->set_path_changes(path_changes);
}

std::optional<uint32_t> SilentRunEnd(uint32_t max_silent, uint32_t last,
                                     absl::FunctionRef<bool(uint32_t)> silent) {
  if (max_silent == 0) return std::nullopt;
  uint32_t run = 0;
  for (uint32_t hop = 0; hop <= last; ++hop) {
    run = silent(hop) ? run + 1 : 0;
    if (run == max_silent) return hop;
  }
  return std::nullopt;
}

}  // namespace netprobe
