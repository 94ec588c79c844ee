#include "agent/probes/tracepath_probe.h"

#include <errno.h>
#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "agent/probes/attempt_result.h"
#include "agent/probes/traffic_counters.h"
#include "agent/util/log.h"
#include "common/proto_time.h"

namespace netprobe {
namespace {

uint32_t HeadersOf(int family) { return (family == AF_INET6 ? 40 : 20) + 8; }

}  // namespace

TracepathProbe::TracepathProbe(TraceroutePlan plan, EventLoop* loop, BlockingWork work,
                               std::shared_ptr<Sink> sink, std::function<void()> done)
    : ProbeBase(loop, std::move(sink), std::move(done)),
      plan_(std::move(plan)),
      work_(std::move(work)),
      token_(TraceTransport::NewToken()) {}

TracepathProbe::~TracepathProbe() { Release(); }

void TracepathProbe::Start() {
  if (plan_.resolve) names_.emplace(work_, loop_, alive());
  ResolveOnLoop(work_, loop_, alive(), plan_.host, plan_.family, "target",
                plan_.admission.AddressCheck(),
                [this](absl::StatusOr<SocketAddress> r) { OnResolved(std::move(r)); });
}

void TracepathProbe::OnResolved(absl::StatusOr<SocketAddress> address) {
  if (finished()) return;
  if (!address.ok()) return Fail(address.status());
  TraceTransport::Callbacks callbacks;
  callbacks.on_answer = [this](const TraceTransport::Answer& a) { OnAnswer(a); };
  callbacks.on_sent = [this](uint32_t wire, absl::Time sent) {
    if (wire == wire_in_flight_) kernel_sent_ = sent;
  };
  callbacks.on_wake = [] {};
  callbacks.finished = [this] { return finished(); };
  absl::StatusOr<std::unique_ptr<TraceTransport>> transport =
      TraceTransport::ForPlan(loop_, plan_, *address, token_, std::move(callbacks));
  if (!transport.ok()) return Fail(transport.status());
  transport_ = std::move(*transport);
  const int af = transport_->family();
  min_length_ = HeadersOf(af) + TracerouteLimits::kProbeHeader;
  // The request's length, else the route's MTU (tracepath's start).
  length_ = plan_.LengthFor(af);
  if (!plan_.packet_length) {
    if (absl::StatusOr<uint32_t> mtu = transport_->LocalMtu(0);
        mtu.ok() && *mtu >= min_length_) {
      length_ = std::min(*mtu, TracerouteLimits::kMaxLength);
    }
  }
  hops_.resize(plan_.hops());
  hop_mtu_.assign(plan_.hops(), 0);
  SendProbe();
}

void TracepathProbe::SendProbe() {
  if (finished()) return;
  if (!Writable()) {
    WhenWritable([this] { SendProbe(); });
    return;
  }
  const uint32_t ttl = plan_.first_ttl + hop_;
  const uint32_t wire = next_wire_++;
  user_sent_ = loop_->clock()->Wall();
  kernel_sent_ = absl::InfinitePast();
  wire_in_flight_ = wire;
  ++probe_;
  const int err = transport_->Send(0, static_cast<int>(ttl), wire,
                                   length_ - HeadersOf(transport_->family()));
  if (err == 0) {
    TrafficCounters::Get().Sent(SendingProbe::kTraceroute);
    ++hops_[hop_].sent;
    timer_ = loop_->RunAfter(plan_.wait, [this] { OnTimeout(); });
    return;
  }
  wire_in_flight_ = 0;
  v1::TracerouteReply reply;
  NewReply(&reply);
  if (err == EMSGSIZE) {
    // Larger than the local interface allows: its MTU, and this hop again.
    absl::StatusOr<uint32_t> mtu = transport_->LocalMtu(0);
    *reply.mutable_result() = ResultFromErrno(err);
    if (mtu.ok()) reply.set_next_hop_mtu(*mtu);
    const bool lowered = mtu.ok() && Lower(*mtu, 0);
    return Finish(std::move(reply), lowered);
  }
  ++hops_[hop_].sent;
  *reply.mutable_result() = ResultFromErrno(err);
  Finish(std::move(reply), false);
}

void TracepathProbe::OnAnswer(const TraceTransport::Answer& answer) {
  if (wire_in_flight_ == 0 || answer.wire != wire_in_flight_) {
    ++unmatched_;  // late: its wait is over
    return;
  }
  wire_in_flight_ = 0;
  loop_->Cancel(timer_);
  timer_ = 0;
  v1::TracerouteReply reply;
  NewReply(&reply);
  FillTraceReply(answer, transport_->target(),
                 kernel_sent_ != absl::InfinitePast() ? kernel_sent_ : user_sent_,
                 loop_->clock()->Wall(), &reply);
  hops_[hop_].Answered(reply);
  if (reply.reached()) hops_[hop_].reached = true;
  // Too big for the next link: probe this hop again at the MTU it reported.
  const bool lowered = answer.next_hop_mtu != 0 &&
                       reply.result().outcome() == v1::OUTCOME_PACKET_TOO_BIG &&
                       Lower(answer.next_hop_mtu, plan_.first_ttl + hop_);
  Finish(std::move(reply), lowered);
}

void TracepathProbe::OnTimeout() {
  timer_ = 0;
  if (finished() || wire_in_flight_ == 0) return;
  wire_in_flight_ = 0;
  v1::TracerouteReply reply;
  NewReply(&reply);
  reply.mutable_result()->set_outcome(v1::OUTCOME_TIMEOUT);
  reply.mutable_result()->set_detail(
      absl::StrCat("no answer within ", absl::FormatDuration(plan_.wait)));
  ++tries_;
  Finish(std::move(reply), tries_ < plan_.probes_per_hop);
}

bool TracepathProbe::Lower(uint32_t mtu, uint32_t ttl) {
  if (mtu >= length_ || mtu < min_length_ || lowerings_ >= kMaxLowerings) return false;
  ++lowerings_;
  length_ = mtu;
  path_mtu_ttl_ = ttl;
  return true;
}

void TracepathProbe::Finish(v1::TracerouteReply reply, bool retry_hop) {
  if (finished()) return;
  if (names_ && !reply.address().empty()) {
    const std::string address = reply.address();
    std::optional<std::string> name =
        names_->Find(address, [this, reply, retry_hop] { Finish(reply, retry_hop); });
    if (!name) return;  // Finish again once the name came
    reply.set_hostname(*name);
  }
  const bool ends = !retry_hop && EndsTrace(reply);
  if (reply.reached()) reached_ttl_ = reply.ttl();
  v1::TracerouteEvent event;
  *event.mutable_reply() = std::move(reply);
  Emit(std::move(event));
  if (finished()) return;
  if (ends) return Complete();
  if (retry_hop) return SendProbe();
  NextHop();
}

void TracepathProbe::NextHop() {
  hop_mtu_[hop_] = length_;
  if (hop_ + 1 >= plan_.hops()) return Complete();
  ++hop_;
  tries_ = 0;
  probe_ = 0;
  SendProbe();
}

void TracepathProbe::NewReply(v1::TracerouteReply* reply) const {
  v1::Endpoint* target = reply->mutable_target();
  target->set_host(plan_.host);
  if (transport_) {
    const SocketAddress& a = transport_->target();
    target->set_address(a.ip());
    target->set_port(a.port());
    target->set_family(a.family() == AF_INET6 ? v1::ADDRESS_FAMILY_IPV6
                                              : v1::ADDRESS_FAMILY_IPV4);
    reply->set_flow_id(transport_->flow_id(0));
  }
  reply->set_ttl(plan_.first_ttl + hop_);
  reply->set_probe(probe_ == 0 ? 0 : probe_ - 1);
  reply->set_packet_length(length_);
  ToProto(user_sent_, reply->mutable_time());
}

void TracepathProbe::AppendSummaries(std::vector<v1::TracerouteEvent>* out) {
  uint64_t sent = 0, received = 0;
  for (uint32_t hop = 0; hop < hops_.size() && hop <= hop_; ++hop) {
    const TraceHopStats& h = hops_[hop];
    if (h.sent == 0) continue;
    v1::TracerouteEvent event;
    h.Fill(plan_.first_ttl + hop, 0, event.mutable_hop());
    if (names_) {
      for (const std::string& a : h.addresses)
        event.mutable_hop()->add_hostnames(names_->Known(a));
    }
    event.mutable_hop()->set_path_mtu(hop_mtu_[hop] != 0 ? hop_mtu_[hop] : length_);
    sent += h.sent;
    received += h.received;
    out->push_back(std::move(event));
  }
  const uint64_t unmatched = unmatched_ + (transport_ ? transport_->unmatched() : 0);
  v1::TracerouteEvent event;
  v1::TracerouteSummary* summary = event.mutable_summary();
  v1::TracerouteReply endpoint;  // the target as the replies carry it
  NewReply(&endpoint);
  *summary->mutable_target() = endpoint.target();
  summary->set_reached_ttl(reached_ttl_);
  summary->set_sent(sent);
  summary->set_received(received);
  summary->set_unmatched(unmatched);
  summary->set_path_mtu(length_);
  summary->set_path_mtu_ttl(path_mtu_ttl_);
  out->push_back(std::move(event));
}

std::string TracepathProbe::CutShortDetail() const {
  return "the probe in flight is counted as sent and lost";
}

void TracepathProbe::Release() {
  if (timer_ != 0) loop_->Cancel(timer_);
  timer_ = 0;
  wire_in_flight_ = 0;
  if (transport_) transport_->Close();
}

}  // namespace netprobe
