#include "agent/probes/trace_transport.h"

#include <errno.h>
#include <sys/epoll.h>


#include "absl/strings/str_cat.h"
#include "agent/net/icmp.h"
#include "agent/net/interfaces.h"
#include "agent/net/random_token.h"
#include "agent/net/socket_opener.h"
#include "common/posix_error.h"

namespace netprobe {

namespace {

// The answer an ICMP error on an error queue (UDP, raw TCP) gives for the
// probe `wire`.
TraceTransport::Answer ErrorAnswer(ErrorQueueEntry entry, uint32_t wire) {
  TraceTransport::Answer answer;
  answer.wire = wire;
  answer.type = entry.icmp_type;
  answer.code = entry.icmp_code;
  answer.from = entry.offender;
  answer.received = entry.time;
  answer.reply_ttl = entry.reply_ttl > 0 ? static_cast<uint32_t>(entry.reply_ttl) : 0;
  answer.next_hop_mtu = entry.next_hop_mtu;
  answer.mpls = std::move(entry.mpls);
  return answer;
}

}  // namespace

uint32_t TraceTransport::NewToken() { return RandomToken(); }

absl::StatusOr<std::unique_ptr<TraceTransport>> TraceTransport::Open(
    EventLoop* loop, Options options, Callbacks callbacks) {
  if (options.target.family() == AF_INET6) {
    // Every socket opened with this setup (UDP flows, ICMP, raw TCP) turns
    // automatic labels off and leases the label; the target carries it in
    // sin6_flowinfo to every connect() and sendto().
    const uint32_t label = options.flow_label.value_or(0);
    options.setup.flow_label = SocketSetup::FlowLabel{label, options.target};
    options.target.set_flow_info(label);
  } else if (options.flow_label) {
    return absl::InvalidArgumentError(absl::StrCat("flow_label: ", options.target.ip(),
                                                   " is IPv4, which has no flow label"));
  }
  std::unique_ptr<TraceTransport> transport(
      new TraceTransport(loop, std::move(options), std::move(callbacks)));
  NETPROBE_RETURN_IF_ERROR(transport->OpenSockets());
  return transport;
}

absl::StatusOr<std::unique_ptr<TraceTransport>> TraceTransport::ForPlan(
    EventLoop* loop, const TraceroutePlan& plan, SocketAddress address, uint32_t token,
    Callbacks callbacks) {
  address.set_port(plan.method == TraceroutePlan::Method::kIcmp ? 0 : plan.port);
  if (plan.setup.source && plan.setup.source->family() != address.family()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target: ", plan.host, " is ", address.ip(),
        ", not of the family of options.source_address ", plan.setup.source->ip()));
  }
  if (plan.flow_label && address.family() != AF_INET6) {
    return absl::InvalidArgumentError(absl::StrCat(
        "flow_label: ", plan.host, " is ", address.ip(), ", and IPv4 has no flow label"));
  }
  Options options;
  NETPROBE_ASSIGN_OR_RETURN(options.payload_size, plan.PayloadSize(address.family()));
  options.method = plan.method;
  options.target = address;
  options.flows = plan.flows;
  options.token = token;
  options.setup = plan.setup;
  options.flow_label = plan.flow_label;
  return Open(loop, std::move(options), std::move(callbacks));
}

TraceTransport::TraceTransport(EventLoop* loop, Options options, Callbacks callbacks)
    : loop_(loop), options_(std::move(options)), callbacks_(std::move(callbacks)) {}

void TraceTransport::Close() {
  if (tcp_ != nullptr) {
    loop_->Unwatch(tcp_->fd());
    tcp_.reset();
  }
  if (icmp_ != nullptr) {
    loop_->Unwatch(icmp_->fd());
    icmp_.reset();
  }
  for (Flow& flow : flows_) {
    if (flow.udp != nullptr) {
      loop_->Unwatch(flow.udp->fd());
      flow.udp.reset();
    }
  }
}

absl::Status TraceTransport::OpenSockets() {
  const int af = family();
  flows_.resize(options_.flows);
  if (options_.method == TraceroutePlan::Method::kIcmp) {
    const uint16_t id = static_cast<uint16_t>(options_.token ^ (options_.token >> 16));
    NETPROBE_ASSIGN_OR_RETURN(icmp_, loop_->sockets()->OpenIcmp(af, id, options_.setup));
    if (icmp_->kind() == IcmpSocket::Kind::kDatagram && options_.flow_label.value_or(0)) {
      // ping_v6_sendmsg ignores sin6_flowinfo: the probes would go unlabelled.
      return absl::FailedPreconditionError(
          "flow_label: ICMP probes carry a flow label only from a raw ICMPv6 socket, "
          "which needs CAP_NET_RAW; the agent has only an ICMP datagram (ping) socket");
    }
    for (uint32_t f = 0; f < options_.flows; ++f) {
      // The flow's constant checksum, as its first probe shows.
      absl::StatusOr<std::vector<uint8_t>> probe = icmp::BuildConstantChecksumEchoRequest(
          af == AF_INET6, icmp_->id(), 0, options_.token, static_cast<uint16_t>(f),
          options_.payload_size);
      if (!probe.ok()) return probe.status();
      const std::vector<uint8_t>& m = *probe;
      flows_[f].flow_id =
          af == AF_INET6 ? icmp::Checksum(m) : static_cast<uint32_t>(m[2] << 8 | m[3]);
    }
    return loop_->Watch(icmp_->fd(), EPOLLIN,
                        [this](uint32_t events) { OnIcmpReady(events); });
  }
  if (options_.method == TraceroutePlan::Method::kTcp) {
    NETPROBE_ASSIGN_OR_RETURN(
        tcp_, loop_->sockets()->OpenRawTcp(options_.target, options_.setup));
    for (Flow& flow : flows_) {
      NETPROBE_ASSIGN_OR_RETURN(flow.flow_id, tcp_->ReservePort());
    }
    return loop_->Watch(tcp_->fd(), EPOLLIN,
                        [this](uint32_t events) { OnTcpReady(events); });
  }
  for (uint32_t f = 0; f < options_.flows; ++f) {
    Flow& flow = flows_[f];
    NETPROBE_ASSIGN_OR_RETURN(flow.udp, loop_->sockets()->OpenUdp(af, options_.setup));
    NETPROBE_RETURN_IF_ERROR(flow.udp->EnableTracerouteErrors());
    // Connected: the source port is fixed (the flow) and only this target's
    // errors reach the socket. When the route refuses even the connect, the
    // probes go unconnected, each reporting the kernel's refusal.
    flow.unconnected = !flow.udp->Connect(options_.target).ok();
    if (absl::StatusOr<SocketAddress> local = flow.udp->LocalAddress(); local.ok()) {
      flow.flow_id = local->port();
    }
    NETPROBE_RETURN_IF_ERROR(loop_->Watch(
        flow.udp->fd(), EPOLLIN, [this, f](uint32_t events) { OnUdpReady(f, events); }));
  }
  return absl::OkStatus();
}

uint32_t TraceTransport::WireKey(uint32_t wire) const {
  return options_.method == TraceroutePlan::Method::kIcmp ? (wire & 0xffff) : wire;
}

absl::StatusOr<uint32_t> TraceTransport::LocalMtu(uint32_t flow) const {
  if (flow >= flows_.size() || flows_[flow].udp == nullptr) {
    return absl::UnimplementedError("only UDP traces know the path MTU");
  }
  const DatagramSocket& udp = *flows_[flow].udp;
  absl::StatusOr<SocketAddress> local = udp.LocalAddress();
  absl::StatusOr<std::vector<InterfaceInfo>> interfaces = ListInterfaces();
  if (local.ok() && interfaces.ok()) {
    for (const InterfaceInfo& i : *interfaces) {
      for (const auto* list : {&i.ipv4, &i.ipv6}) {
        for (const InterfaceAddressInfo& a : *list) {
          if (a.address == local->ip() && i.mtu != 0) return i.mtu;
        }
      }
    }
  }
  return udp.PathMtu();
}

size_t TraceTransport::MaxInFlight() const {
  // Keeps 16-bit ICMP sequences unambiguous.
  return options_.method == TraceroutePlan::Method::kIcmp ? 60000 : 1000000;
}

int TraceTransport::Send(uint32_t flow, int ttl, uint32_t wire, uint32_t payload_size) {
  const bool v6 = family() == AF_INET6;
  if (options_.method == TraceroutePlan::Method::kIcmp) {
    if (icmp_ == nullptr) return EBADF;  // closed
    absl::StatusOr<std::vector<uint8_t>> message = icmp::BuildConstantChecksumEchoRequest(
        v6, icmp_->id(), static_cast<uint16_t>(wire), options_.token,
        static_cast<uint16_t>(flow), payload_size);
    if (!message.ok()) return EINVAL;
    const int err = icmp_->SendWithTtl(*message, options_.target, ttl);
    if (err == 0) icmp_tx_.Sent(WireKey(wire));
    return err;
  }
  if (options_.method == TraceroutePlan::Method::kTcp) {
    if (tcp_ == nullptr) return EBADF;  // closed
    const int err = tcp_->SendSyn(static_cast<uint16_t>(flows_[flow].flow_id), wire, ttl);
    if (err == 0) tcp_tx_.Sent(wire);
    return err;
  }
  Flow& f = flows_[flow];
  if (f.udp == nullptr) return EBADF;  // closed
  const std::vector<uint8_t> payload =
      icmp::BuildPayload(options_.token, wire, payload_size);
  const int err =
      f.udp->SendWithTtl(payload, ttl, f.unconnected ? &options_.target : nullptr);
  if (err == 0) f.tx.Sent(wire);
  return err;
}

void TraceTransport::OnUdpReady(uint32_t flow, uint32_t events) {
  if (events & EPOLLERR) HandleUdpErrorQueue(flow);
  DatagramSocket::Received datagram;
  for (int i = 0; i < 1024 && !Finished(); ++i) {
    const int err = flows_[flow].udp->Receive(&datagram, 0);
    if (err == EAGAIN || err == EWOULDBLOCK) break;
    if (err != 0) {
      HandleUdpErrorQueue(flow);  // a pending ICMP error; its entry says which
      continue;
    }
    ++unmatched_;  // a datagram from the target: traceroute ignores them too
  }
  if (!Finished() && (events & EPOLLERR)) HandleUdpErrorQueue(flow);
  if (!Finished()) callbacks_.on_wake();
}

void TraceTransport::HandleUdpErrorQueue(uint32_t flow) {
  ErrorQueueEntry entry;
  Flow& f = flows_[flow];
  for (int i = 0; i < 4096 && !Finished() && f.udp->ReadErrorQueue(&entry); ++i) {
    if (entry.kind == ErrorQueueEntry::Kind::kTxTimestamp) {
      if (const std::optional<uint32_t> wire = f.tx.Take(entry.tx_id)) {
        callbacks_.on_sent(*wire, entry.time);
      }
      continue;
    }
    if (entry.kind != ErrorQueueEntry::Kind::kIcmpError) continue;
    // The local EMSGSIZE of a send that failed at once (path MTU discovery):
    // Send() reported it already.
    if (!entry.offender.valid() && entry.err == EMSGSIZE) continue;
    // The entry holds our payload as far as the error quoted it.
    const icmp::PayloadHeader payload = icmp::ParsePayload(entry.request);
    if (!payload.token || *payload.token != options_.token || !payload.sequence ||
        !entry.offender.valid()) {
      ++unmatched_;  // quotes too little to tell which probe (or not ours)
      continue;
    }
    callbacks_.on_answer(ErrorAnswer(std::move(entry), *payload.sequence));
  }
}

void TraceTransport::OnIcmpReady(uint32_t events) {
  if (events & EPOLLERR) HandleIcmpErrorQueue();
  IcmpSocket::Received packet;
  for (int i = 0; i < 4096 && !Finished() && icmp_->Receive(&packet); ++i) {
    HandleIcmpPacket(packet);
  }
  if (Finished()) return;
  if (events & EPOLLERR) HandleIcmpErrorQueue();
  if (!Finished()) callbacks_.on_wake();
}

void TraceTransport::HandleIcmpErrorQueue() {
  IcmpSocket::ErrorEntry entry;
  for (int i = 0; i < 4096 && !Finished() && icmp_->ReadErrorQueue(&entry); ++i) {
    if (entry.kind == IcmpSocket::ErrorEntry::Kind::kTxTimestamp) {
      if (const std::optional<uint32_t> wire = icmp_tx_.Take(entry.tx_id)) {
        callbacks_.on_sent(*wire, entry.time);
      }
    } else if (entry.kind == IcmpSocket::ErrorEntry::Kind::kIcmpError) {
      // Ping sockets: the kernel hands back our request and the error.
      if (entry.request.size() < 8 || !entry.offender.valid()) {
        ++unmatched_;
        continue;
      }
      const icmp::PayloadHeader payload =
          icmp::ParsePayload(absl::MakeConstSpan(entry.request).subspan(8));
      if (payload.token && *payload.token != options_.token) continue;
      Answer answer;
      answer.wire = static_cast<uint16_t>(entry.request[6] << 8 | entry.request[7]);
      answer.type = entry.icmp_type;
      answer.code = entry.icmp_code;
      answer.from = entry.offender;
      answer.received = entry.time;
      callbacks_.on_answer(answer);
    }
  }
}

void TraceTransport::HandleIcmpPacket(const IcmpSocket::Received& packet) {
  const bool v6 = icmp_->family() == AF_INET6;
  absl::StatusOr<icmp::ParsedIcmp> parsed =
      icmp_->kind() == IcmpSocket::Kind::kDatagram
          ? icmp::ParseDatagramEchoReply(v6, packet.data)
          : (v6 ? icmp::ParseIcmpV6(packet.data) : icmp::ParseIcmpV4(packet.data));
  if (!parsed.ok()) {
    ++unmatched_;
    return;
  }
  Answer answer;
  answer.from = packet.from;
  answer.received = packet.kernel_time;
  if (packet.hop_limit > 0) answer.reply_ttl = static_cast<uint32_t>(packet.hop_limit);
  switch (parsed->kind) {
    case icmp::ParsedIcmp::Kind::kEchoReply: {
      const icmp::EchoReply& reply = parsed->reply;
      if (reply.id != icmp_->id()) return;
      if (reply.payload.token && *reply.payload.token != options_.token) return;
      answer.kind = Answer::Kind::kEchoReply;
      answer.wire = reply.sequence16;
      answer.type = v6 ? icmp::kEchoReplyV6 : icmp::kEchoReplyV4;
      if (reply.ttl > 0) answer.reply_ttl = reply.ttl;
      break;
    }
    case icmp::ParsedIcmp::Kind::kError: {
      const icmp::QuotedEchoError& error = parsed->error;
      if (error.id != icmp_->id()) return;
      if (error.payload.token && *error.payload.token != options_.token) return;
      answer.wire = error.sequence16;
      answer.type = error.type;
      answer.code = error.code;
      // What the echo parser leaves out: the quoted TTL, the MTU and the
      // MPLS extension.
      absl::StatusOr<std::optional<icmp::IcmpError>> full =
          v6 ? icmp::ParseIcmpErrorV6(packet.data) : icmp::ParseIcmpErrorV4(packet.data);
      if (full.ok() && full->has_value()) {
        icmp::IcmpError& e = **full;
        answer.quoted_ttl = e.quote.ttl;
        answer.next_hop_mtu = e.next_hop_mtu;
        if (e.reply_ttl > 0) answer.reply_ttl = e.reply_ttl;
        answer.mpls = std::move(e.mpls);
      }
      break;
    }
    case icmp::ParsedIcmp::Kind::kOther:
      return;
  }
  callbacks_.on_answer(answer);
}

std::optional<uint32_t> TraceTransport::FlowOfPort(uint16_t port) const {
  for (uint32_t f = 0; f < flows_.size(); ++f) {
    if (flows_[f].flow_id == port) return f;
  }
  return std::nullopt;
}

void TraceTransport::OnTcpReady(uint32_t events) {
  if (events & EPOLLERR) HandleTcpErrorQueue();
  SynSocket::Received segment;
  for (int i = 0; i < 4096 && !Finished(); ++i) {
    const int err = tcp_->Receive(&segment);
    if (err == EAGAIN || err == EWOULDBLOCK) break;
    if (err == EBADMSG) continue;  // malformed: not an answer of ours
    if (err != 0) {
      HandleTcpErrorQueue();  // a pending ICMP error; its entry says which
      continue;
    }
    HandleTcpSegment(segment);
  }
  if (!Finished() && (events & EPOLLERR)) HandleTcpErrorQueue();
  if (!Finished()) callbacks_.on_wake();
}

void TraceTransport::HandleTcpErrorQueue() {
  ErrorQueueEntry entry;
  for (int i = 0; i < 4096 && !Finished() && tcp_->ReadErrorQueue(&entry); ++i) {
    if (entry.kind == ErrorQueueEntry::Kind::kTxTimestamp) {
      if (const std::optional<uint32_t> wire = tcp_tx_.Take(entry.tx_id)) {
        callbacks_.on_sent(*wire, entry.time);
      }
      continue;
    }
    if (entry.kind != ErrorQueueEntry::Kind::kIcmpError) continue;
    // The entry holds the TCP header of our SYN as far as the error quoted
    // it: the ports tell the flow (another trace to the same target has
    // other ports), the sequence number the probe.
    const std::optional<tcp_segment::Header> quoted =
        tcp_segment::ParseQuoted(entry.request);
    if (!quoted || !entry.offender.valid()) {
      ++unmatched_;  // quotes too little to tell which probe
      continue;
    }
    if (quoted->destination_port != options_.target.port() ||
        !FlowOfPort(quoted->source_port)) {
      continue;  // another prober's segment to this target
    }
    callbacks_.on_answer(ErrorAnswer(std::move(entry), quoted->sequence));
  }
}

void TraceTransport::HandleTcpSegment(const SynSocket::Received& segment) {
  const std::optional<tcp_segment::SynAnswer> syn_answer =
      tcp_segment::MatchSynAnswer(segment.header, options_.target.port());
  // Ours go to a flow's port; the rest is other traffic with the target.
  if (!syn_answer || !FlowOfPort(syn_answer->local_port)) return;
  Answer answer;
  answer.kind = syn_answer->kind == tcp_segment::SynAnswer::Kind::kReset
                    ? Answer::Kind::kTcpReset
                    : Answer::Kind::kTcpSynAck;
  answer.wire = syn_answer->sequence;
  answer.from = segment.from.valid() ? segment.from : options_.target;
  answer.received = segment.kernel_time;
  answer.reply_ttl = static_cast<uint32_t>(segment.ttl);
  callbacks_.on_answer(answer);
}

}  // namespace netprobe
