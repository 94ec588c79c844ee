#include "agent/probes/multicast_probe.h"

#include <errno.h>
#include <sys/epoll.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agent/net/socket_opener.h"
#include "agent/probes/attempt_sent.h"
#include "agent/probes/traffic_counters.h"
#include "common/posix_error.h"
#include "common/proto_time.h"

namespace netprobe {
namespace {

v1::AddressFamily FamilyOf(const SocketAddress& address) {
  return address.family() == AF_INET6 ? v1::ADDRESS_FAMILY_IPV6 : v1::ADDRESS_FAMILY_IPV4;
}

}  // namespace

MulticastProbe::MulticastProbe(MulticastPlan plan, EventLoop* loop,
                               std::shared_ptr<Sink> sink, std::function<void()> done)
    : ProbeBase(loop, std::move(sink), std::move(done)), plan_(std::move(plan)) {}

MulticastProbe::~MulticastProbe() { Release(); }

void MulticastProbe::Start() {
  if (absl::Status joined = Join(); !joined.ok()) return Fail(std::move(joined));
  if (plan_.send) {
    if (absl::Status opened = OpenSender(); !opened.ok()) return Fail(std::move(opened));
  }
  v1::MulticastEvent event;
  v1::MulticastJoined* joined = event.mutable_joined();
  joined->set_group(plan_.group.ip());
  joined->set_port(plan_.group.port());
  joined->set_interface(plan_.interface);
  if (plan_.source) joined->set_source(plan_.source->ip());
  ToProto(joined_at_, joined->mutable_time());
  Emit(std::move(event));
  if (plan_.duration > absl::ZeroDuration()) {
    duration_timer_ = loop_->RunAfter(plan_.duration, [this] {
      duration_timer_ = 0;
      Complete();
    });
  }
  if (plan_.send) {
    next_send_ = loop_->Now();
    SendOne();
  }
}

absl::Status MulticastProbe::Join() {
  SocketSetup setup;
  setup.interface = plan_.interface;  // SO_BINDTODEVICE: only that interface's copies
  joined_at_ = loop_->clock()->Wall();
  NETPROBE_ASSIGN_OR_RETURN(receiver_,
                            loop_->sockets()->OpenMulticastReceiver(
                                plan_.group, plan_.interface_index, plan_.source, setup));
  return loop_->Watch(receiver_->fd(), EPOLLIN,
                      [this](uint32_t events) { OnReceivable(events); });
}

absl::Status MulticastProbe::OpenSender() {
  SocketSetup setup;
  setup.interface = plan_.interface;
  NETPROBE_ASSIGN_OR_RETURN(
      sender_, loop_->sockets()->OpenMulticastSender(plan_.group.family(), setup,
                                                     plan_.interface_index,
                                                     plan_.send_ttl, plan_.loopback));
  return loop_->Watch(sender_->fd(), EPOLLIN,
                      [this](uint32_t events) { OnSenderEvents(events); });
}

void MulticastProbe::OnReceivable(uint32_t events) {
  if (events & EPOLLERR) {
    ErrorQueueEntry entry;
    for (int i = 0; i < kMaxReadsPerWake && receiver_->ReadErrorQueue(&entry); ++i) {
    }
  }
  for (int i = 0; i < kMaxReadsPerWake && !finished(); ++i) {
    const int err = receiver_->Receive(&buffer_, plan_.max_payload);
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    if (err != 0) continue;  // an error report; the next read gets data
    OnDatagram(buffer_);
  }
}

void MulticastProbe::OnDatagram(const DatagramSocket::Received& datagram) {
  ++received_;
  const ReceiveMeta& meta = datagram.meta;
  const absl::Time at = meta.kernel_time != absl::InfinitePast() ? meta.kernel_time
                                                                 : loop_->clock()->Wall();
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
  Emit(std::move(event));
  if (plan_.count != 0 && received_ >= plan_.count) Complete();
}

void MulticastProbe::SendOne() {
  send_timer_ = 0;
  if (finished()) return;
  ++send_sequence_;
  const std::string payload = plan_.send_payload.empty()
                                  ? absl::StrCat("netprobe mcast seq=", send_sequence_)
                                  : plan_.send_payload;
  const int err =
      sender_->Send(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(payload.data()),
                                        payload.size()),
                    &plan_.group);
  if (err != 0) {
    ++send_errors_;
  } else {
    ++sent_;
    TrafficCounters::Get().Sent(SendingProbe::kMulticast);
    if (plan_.report_sends) {
      v1::Endpoint group;
      group.set_host(plan_.group.ip());
      group.set_address(plan_.group.ip());
      group.set_port(plan_.group.port());
      group.set_family(plan_.group.family() == AF_INET6 ? v1::ADDRESS_FAMILY_IPV6
                                                        : v1::ADDRESS_FAMILY_IPV4);
      // A full stream queue drops the event and counts it, like datagrams.
      Emit(AttemptSentEvent<v1::MulticastEvent>(std::move(group), send_sequence_,
                                                loop_->clock()->Wall()));
    }
  }
  ScheduleSend();
}

void MulticastProbe::ScheduleSend() {
  // On the interval's grid; after a late wakeup, from now (no catch-up burst).
  next_send_ = std::max(next_send_ + plan_.send_interval, loop_->Now());
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

void MulticastProbe::AppendSummaries(std::vector<v1::MulticastEvent>* out) {
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
  out->push_back(std::move(event));
}

std::string MulticastProbe::CutShortDetail() const { return "the group was left"; }

void MulticastProbe::Release() {
  if (duration_timer_ != 0) loop_->Cancel(duration_timer_);
  if (send_timer_ != 0) loop_->Cancel(send_timer_);
  duration_timer_ = send_timer_ = 0;
  if (sender_ != nullptr) {
    loop_->Unwatch(sender_->fd());
    sender_.reset();
  }
  if (receiver_ != nullptr) {
    if (auto drops = receiver_->KernelDrops()) {
      kernel_drops_ = std::max<uint64_t>(kernel_drops_, *drops);
    }
    loop_->Unwatch(receiver_->fd());
    receiver_.reset();  // leaves the group, then closes the socket
  }
}

}  // namespace netprobe
