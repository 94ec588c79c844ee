#include "agent/probes/broadcast_probe.h"

#include <errno.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cstring>

#include "agent/net/socket_opener.h"
#include "agent/probes/attempt_result.h"
#include "agent/probes/traffic_counters.h"
#include "common/proto_time.h"

namespace netprobe {
namespace {

// Datagrams read per readiness callback, so a flood cannot starve the loop.
constexpr int kMaxReadsPerRound = 4096;

void FillEndpoint(const SocketAddress& address, v1::Endpoint* out) {
  out->set_host(address.ip());
  out->set_address(address.ip());
  out->set_port(address.port());
  out->set_family(v1::ADDRESS_FAMILY_IPV4);
}

}  // namespace

BroadcastProbe::BroadcastProbe(BroadcastPlan plan, EventLoop* loop,
                               std::shared_ptr<Sink> sink, std::function<void()> done)
    : ProbeBase(loop, std::move(sink), std::move(done)), plan_(std::move(plan)) {}

BroadcastProbe::~BroadcastProbe() { Release(); }

void BroadcastProbe::Start() {
  auto socket = loop_->sockets()->OpenBroadcastUdp(plan_.setup);
  if (!socket.ok()) return Fail(socket.status());
  socket_ = *std::move(socket);
  absl::Status watched = loop_->Watch(socket_->fd(), EPOLLIN,
                                      [this](uint32_t events) { OnSocketReady(events); });
  if (!watched.ok()) return Fail(watched);

  user_sent_ = loop_->clock()->Wall();
  const int err = socket_->Send(plan_.payload, &plan_.destination);
  if (err == 0) TrafficCounters::Get().Sent(SendingProbe::kBroadcast);
  v1::BroadcastEvent event;
  v1::BroadcastSent* sent = event.mutable_sent();
  sent->set_interface(plan_.interface);
  FillEndpoint(plan_.destination, sent->mutable_destination());
  sent->set_bytes(static_cast<uint32_t>(plan_.payload.size()));
  ToProto(plan_.window, sent->mutable_window());
  ToProto(user_sent_, sent->mutable_time());
  if (auto local = socket_->LocalAddress(); local.ok()) {
    local_port_ = local->port();
    sent->set_local_port(local_port_);
  }
  if (err != 0) {
    // The kernel refused (interface down, filtered, too big with DF): a
    // result, not an RPC error. Nothing can answer, so no window.
    *sent->mutable_result() = ResultFromErrno(err);
    Emit(std::move(event));
    return Complete();
  }
  sent->mutable_result()->set_outcome(v1::OUTCOME_OK);
  Emit(std::move(event));
  window_timer_ = loop_->RunAfter(plan_.window, [this] { OnWindowEnd(); });
}

void BroadcastProbe::OnSocketReady(uint32_t events) {
  // Transmit timestamp first, so replies find the kernel's send time.
  if (events & EPOLLERR) ReadErrorQueue();
  ReadReplies();
}

void BroadcastProbe::ReadErrorQueue() {
  ErrorQueueEntry entry;
  for (int i = 0; i < kMaxReadsPerRound && socket_->ReadErrorQueue(&entry); ++i) {
    if (entry.kind == ErrorQueueEntry::Kind::kTxTimestamp && entry.tx_id == 0) {
      kernel_sent_ = entry.time;
    } else if (entry.kind == ErrorQueueEntry::Kind::kIcmpError) {
      ++icmp_errors_;
    }
  }
}

void BroadcastProbe::ReadReplies() {
  for (int i = 0; i < kMaxReadsPerRound && socket_ != nullptr; ++i) {
    const int err = socket_->Receive(&received_, BroadcastLimits::kMaxPayload + 1);
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    // Another errno is a pending ICMP error (IP_RECVERR sets it even on an
    // unconnected socket); its entry is in the error queue and counted there.
    if (err != 0) continue;
    if (received_.meta.kernel_drops) {
      kernel_drops_ = std::max<uint64_t>(kernel_drops_, *received_.meta.kernel_drops);
    }
    const SocketAddress& from = received_.from;
    const std::string ip = from.ip();
    if (from.port() == local_port_ &&
        std::find(plan_.local_addresses.begin(), plan_.local_addresses.end(), ip) !=
            plan_.local_addresses.end()) {
      continue;  // The kernel's loopback copy of our own broadcast.
    }
    // A reply can only come after our datagram left, so its TX timestamp is
    // queued by now even when epoll reported EPOLLIN first.
    if (kernel_sent_ == absl::InfinitePast()) ReadErrorQueue();
    const absl::Time sent =
        kernel_sent_ != absl::InfinitePast() ? kernel_sent_ : user_sent_;
    const absl::Time arrived = received_.meta.kernel_time != absl::InfinitePast()
                                   ? received_.meta.kernel_time
                                   : loop_->clock()->Wall();
    v1::BroadcastEvent event;
    v1::BroadcastReply* reply = event.mutable_reply();
    FillEndpoint(from, reply->mutable_responder());
    ToProto(std::max(arrived - sent, absl::ZeroDuration()), reply->mutable_rtt());
    const size_t shown =
        std::min(received_.data.size(), BroadcastLimits::kReportedPayload);
    reply->set_payload(received_.data.data(), shown);
    ToProto(arrived, reply->mutable_time());
    reply->set_bytes(static_cast<uint32_t>(received_.bytes));
    if (received_.meta.hop_limit > 0) reply->set_ttl(received_.meta.hop_limit);
    reply->set_echo(
        received_.bytes == plan_.payload.size() &&
        received_.data.size() == plan_.payload.size() &&
        std::equal(received_.data.begin(), received_.data.end(), plan_.payload.begin()));
    ++replies_;
    responders_.insert(ip);
    // Dropped and counted by the sink when the stream queue is full.
    Emit(std::move(event));
  }
}

void BroadcastProbe::OnWindowEnd() {
  window_timer_ = 0;
  // What the kernel queued before the deadline still counts.
  ReadErrorQueue();
  ReadReplies();
  Complete();
}

void BroadcastProbe::AppendSummaries(std::vector<v1::BroadcastEvent>* out) {
  v1::BroadcastEvent event;
  v1::BroadcastSummary* summary = event.mutable_summary();
  summary->set_replies(replies_);
  summary->set_distinct_responders(responders_.size());
  summary->set_kernel_drops(kernel_drops_);
  summary->set_icmp_errors(icmp_errors_);
  out->push_back(std::move(event));
}

std::string BroadcastProbe::CutShortDetail() const {
  return "the reply window was cut short";
}

void BroadcastProbe::Release() {
  if (window_timer_ != 0) loop_->Cancel(window_timer_);
  window_timer_ = 0;
  if (socket_ != nullptr) {
    loop_->Unwatch(socket_->fd());
    socket_.reset();
  }
}

}  // namespace netprobe
