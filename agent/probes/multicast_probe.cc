#include "agent/probes/multicast_probe.h"
#include "agent/probes/traffic_counters.h"

#include <errno.h>
#include <linux/sock_diag.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agent/net/monotonic_clock.h"
#include "agent/net/multicast_send_options.h"
#include "agent/net/posix_error.h"
#include "agent/probes/proto_time.h"
#include "agent/probes/stream_end.h"

namespace netprobe {
namespace {

// The socket's drop count from SO_MEMINFO: unlike SO_RXQ_OVFL, which rides on
// received datagrams, it includes drops after the last datagram read.
std::optional<uint32_t> SocketDrops(int fd) {
  uint32_t info[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof(info);
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, &len) != 0 ||
      len <= SK_MEMINFO_DROPS * sizeof(uint32_t)) {
    return std::nullopt;
  }
  return info[SK_MEMINFO_DROPS];
}

v1::AddressFamily FamilyOf(const SocketAddress& address) {
  return address.family() == AF_INET6 ? v1::ADDRESS_FAMILY_IPV6 : v1::ADDRESS_FAMILY_IPV4;
}

}  // namespace

MulticastProbe::MulticastProbe(MulticastPlan plan, EventLoop* loop,
                               std::shared_ptr<Sink> sink, std::function<void()> done)
    : plan_(std::move(plan)),
      loop_(loop),
      sink_(std::move(sink)),
      done_(std::move(done)) {}

MulticastProbe::~MulticastProbe() { Release(); }

void MulticastProbe::Start() {
  if (absl::Status joined = Join(); !joined.ok()) {
    End(std::move(joined));
    return;
  }
  if (plan_.send) {
    if (absl::Status opened = OpenSender(); !opened.ok()) {
      End(std::move(opened));
      return;
    }
  }
  v1::MulticastEvent event;
  v1::MulticastJoined* joined = event.mutable_joined();
  joined->set_group(plan_.group.ip());
  joined->set_port(plan_.group.port());
  joined->set_interface(plan_.interface);
  if (plan_.source) joined->set_source(plan_.source->ip());
  ToProto(joined_at_, joined->mutable_time());
  sink_->Emit(std::move(event));
  if (plan_.duration > absl::ZeroDuration()) {
    duration_timer_ = loop_->RunAfter(plan_.duration, [this] {
      duration_timer_ = 0;
      Complete();
    });
  }
  if (plan_.send) {
    next_send_ = MonotonicNow();
    SendOne();
  }
}

absl::Status MulticastProbe::Join() {
  const int family = plan_.group.family();
  SocketSetup setup;
  setup.interface = plan_.interface;  // SO_BINDTODEVICE: only that interface's copies
  NETPROBE_ASSIGN_OR_RETURN(UdpSocket socket,
                            UdpSocket::Open(family, setup, {.reuse_address = true}));
  NETPROBE_RETURN_IF_ERROR(ReceiveOnlyJoinedGroups(socket.fd(), family));
  // Bound to the group, not the wildcard: unicast to the port stays out.
  NETPROBE_RETURN_IF_ERROR(socket.Bind(plan_.group));
  joined_at_ = absl::Now();
  NETPROBE_ASSIGN_OR_RETURN(
      MulticastMembership membership,
      MulticastMembership::Join(socket.fd(), plan_.group, plan_.interface_index,
                                plan_.source));
  receiver_.emplace(std::move(socket));
  membership_.emplace(std::move(membership));
  return loop_->Watch(receiver_->fd(), EPOLLIN,
                      [this](uint32_t events) { OnReceivable(events); });
}

absl::Status MulticastProbe::OpenSender() {
  const int family = plan_.group.family();
  SocketSetup setup;
  setup.interface = plan_.interface;
  NETPROBE_ASSIGN_OR_RETURN(UdpSocket socket, UdpSocket::Open(family, setup));
  NETPROBE_RETURN_IF_ERROR(SetMulticastSendOptions(
      socket.fd(), family, plan_.interface_index, plan_.send_ttl, plan_.loopback));
  sender_.emplace(std::move(socket));
  return loop_->Watch(sender_->fd(), EPOLLIN,
                      [this](uint32_t events) { OnSenderEvents(events); });
}

void MulticastProbe::OnReceivable(uint32_t events) {
  if (events & EPOLLERR) {
    ErrorQueueEntry entry;
    for (int i = 0; i < kMaxReadsPerWake && receiver_->ReadErrorQueue(&entry); ++i) {
    }
  }
  for (int i = 0; i < kMaxReadsPerWake && !released_; ++i) {
    const int err = receiver_->Receive(&buffer_, plan_.max_payload);
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    if (err != 0) continue;  // an error report; the next read gets data
    OnDatagram(buffer_);
  }
}

void MulticastProbe::OnDatagram(const UdpSocket::Received& datagram) {
  ++received_;
  const ReceiveMeta& meta = datagram.meta;
  const absl::Time at =
      meta.kernel_time != absl::InfinitePast() ? meta.kernel_time : absl::Now();
  if (first_at_ == absl::InfinitePast()) first_at_ = at;
  if (meta.kernel_drops)
    kernel_drops_ = std::max<uint64_t>(kernel_drops_, *meta.kernel_drops);
  const std::string from = datagram.from.ip();
  if (sources_.size() < kMaxTrackedSources) sources_.insert(from);

  v1::MulticastEvent event;
  v1::MulticastDatagram* out = event.mutable_datagram();
  out->mutable_source()->set_host(from);
  out->mutable_source()->set_address(from);
  out->mutable_source()->set_port(datagram.from.port());
  out->mutable_source()->set_family(FamilyOf(datagram.from));
  out->set_group(meta.destination ? meta.destination->ip() : plan_.group.ip());
  out->set_bytes(static_cast<uint32_t>(datagram.bytes));
  out->set_ttl(meta.hop_limit >= 0 ? static_cast<uint32_t>(meta.hop_limit) : 0);
  ToProto(at, out->mutable_time());
  out->set_payload(datagram.data.data(), datagram.data.size());
  // A full stream queue drops the event and counts it (Dropped notices).
  sink_->Emit(std::move(event));
  if (plan_.count != 0 && received_ >= plan_.count) Complete();
}

void MulticastProbe::SendOne() {
  send_timer_ = 0;
  if (released_) return;
  ++send_sequence_;
  const std::string payload = plan_.send_payload.empty()
                                  ? absl::StrCat("netprobe mcast seq=", send_sequence_)
                                  : plan_.send_payload;
  const int err =
      sender_->Send(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(payload.data()),
                                        payload.size()),
                    &plan_.group);
  if (err == 0) {
    ++sent_;
    TrafficCounters::Get().Sent(SendingProbe::kMulticast);
  } else {
    ++send_errors_;
  }
  ScheduleSend();
}

void MulticastProbe::ScheduleSend() {
  // On the interval's grid; after a late wakeup, from now (no catch-up burst).
  next_send_ = std::max(next_send_ + plan_.send_interval, MonotonicNow());
  send_timer_ = loop_->RunAt(next_send_, [this] { SendOne(); });
}

void MulticastProbe::OnSenderEvents(uint32_t events) {
  // Transmit timestamps pile up in the error queue (UdpSocket asks for them),
  // and unicast answers to the sender's port are not what we measure: drain.
  if (events & EPOLLERR) {
    ErrorQueueEntry entry;
    for (int i = 0; i < kMaxReadsPerWake && sender_->ReadErrorQueue(&entry); ++i) {
    }
  }
  if (events & EPOLLIN) {
    for (int i = 0; i < kMaxReadsPerWake && sender_->Receive(&buffer_, 0) != EAGAIN;
         ++i) {
    }
  }
}

void MulticastProbe::Complete() {
  if (released_) return;
  Release();
  if (sink_->Writable()) {
    EmitSummary();
    End(absl::OkStatus());
    return;
  }
  // The summary must not be dropped behind a full queue of datagrams: nothing
  // more is emitted now, so the queue drains to the low-water mark.
  std::weak_ptr<char> alive = alive_;
  sink_->NotifyWhenWritable([this, alive] {
    if (!alive.lock() || ended_) return;
    EmitSummary();
    End(absl::OkStatus());
  });
}

void MulticastProbe::EmitSummary() {
  v1::MulticastEvent event;
  v1::MulticastSummary* summary = event.mutable_summary();
  summary->set_received(received_);
  summary->set_sent(sent_);
  summary->set_send_errors(send_errors_);
  summary->set_distinct_sources(sources_.size());
  summary->set_kernel_drops(kernel_drops_);
  if (first_at_ != absl::InfinitePast()) {
    ToProto(std::max(first_at_ - joined_at_, absl::ZeroDuration()),
            summary->mutable_time_to_first());
  }
  sink_->Emit(std::move(event));
}

void MulticastProbe::End(absl::Status status) {
  if (ended_) return;
  ended_ = true;
  Release();
  sink_->Finish(std::move(status));
  done_();
}

void MulticastProbe::Stop(StopReason reason) {
  if (ended_) return;
  Release();
  if (reason == StopReason::kAgentShutdown) {
    v1::MulticastEvent end;
    FillShutdownEnd("the agent is shutting down; the group was left", end.mutable_end());
    sink_->Emit(std::move(end));
    EmitSummary();
    End(absl::OkStatus());
  } else {
    End(absl::CancelledError("cancelled by the client"));
  }
}

void MulticastProbe::Release() {
  if (released_) return;
  released_ = true;
  if (duration_timer_ != 0) loop_->Cancel(duration_timer_);
  if (send_timer_ != 0) loop_->Cancel(send_timer_);
  duration_timer_ = send_timer_ = 0;
  if (sender_) {
    loop_->Unwatch(sender_->fd());
    sender_.reset();
  }
  if (receiver_) {
    if (auto drops = SocketDrops(receiver_->fd())) {
      kernel_drops_ = std::max<uint64_t>(kernel_drops_, *drops);
    }
    membership_.reset();  // leaves the group before the socket closes
    loop_->Unwatch(receiver_->fd());
    receiver_.reset();
  }
}

}  // namespace netprobe
