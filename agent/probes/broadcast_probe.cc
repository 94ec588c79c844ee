#include "agent/probes/broadcast_probe.h"
#include "agent/probes/traffic_counters.h"

#include <errno.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/probes/attempt_result.h"
#include "agent/probes/proto_time.h"
#include "agent/probes/stream_end.h"

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
    : plan_(std::move(plan)),
      loop_(loop),
      sink_(std::move(sink)),
      done_(std::move(done)) {}

BroadcastProbe::~BroadcastProbe() { Release(); }

void BroadcastProbe::Start() {
  auto socket = UdpSocket::Open(AF_INET, plan_.setup, {.broadcast = true});
  if (!socket.ok()) return Fail(socket.status());
  socket_.emplace(*std::move(socket));
  absl::Status watched = loop_->Watch(socket_->fd(), EPOLLIN,
                                      [this](uint32_t events) { OnSocketReady(events); });
  if (!watched.ok()) return Fail(watched);

  user_sent_ = absl::Now();
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
    sink_->Emit(std::move(event));
    Release();
    FinishWhenWritable();
    return;
  }
  sent->mutable_result()->set_outcome(v1::OUTCOME_OK);
  sink_->Emit(std::move(event));
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
  for (int i = 0; i < kMaxReadsPerRound && socket_.has_value(); ++i) {
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
                                   : absl::Now();
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
    sink_->Emit(std::move(event));
  }
}

void BroadcastProbe::OnWindowEnd() {
  window_timer_ = 0;
  // What the kernel queued before the deadline still counts.
  ReadErrorQueue();
  ReadReplies();
  Release();
  FinishWhenWritable();
}

void BroadcastProbe::FinishWhenWritable() {
  if (finished_) return;
  if (!sink_->Writable()) {
    // The queue is full of replies: wait for room rather than drop the
    // summary. A client that went away gets no callback; it cancels us.
    std::weak_ptr<char> alive = alive_;
    sink_->NotifyWhenWritable([this, alive] {
      if (alive.lock()) FinishWhenWritable();
    });
    return;
  }
  finished_ = true;
  EmitSummary();
  sink_->Finish(absl::OkStatus());
  done_();
}

void BroadcastProbe::EmitSummary() {
  v1::BroadcastEvent event;
  v1::BroadcastSummary* summary = event.mutable_summary();
  summary->set_replies(replies_);
  summary->set_distinct_responders(responders_.size());
  summary->set_kernel_drops(kernel_drops_);
  summary->set_icmp_errors(icmp_errors_);
  sink_->Emit(std::move(event));
}

void BroadcastProbe::Stop(StopReason reason) {
  if (finished_) return;
  finished_ = true;
  Release();
  if (reason == StopReason::kAgentShutdown) {
    v1::BroadcastEvent end;
    FillShutdownEnd("the agent is shutting down; the reply window was cut short",
                    end.mutable_end());
    sink_->Emit(std::move(end));
    EmitSummary();
    sink_->Finish(absl::OkStatus());
  } else {
    sink_->Finish(absl::CancelledError("cancelled by the client"));
  }
  done_();
}

void BroadcastProbe::Fail(absl::Status status) {
  finished_ = true;
  Release();
  sink_->Finish(std::move(status));
  done_();
}

void BroadcastProbe::Release() {
  if (window_timer_ != 0) loop_->Cancel(window_timer_);
  window_timer_ = 0;
  if (socket_.has_value()) {
    loop_->Unwatch(socket_->fd());
    socket_.reset();
  }
}

}  // namespace netprobe
