#include "agent/probes/tcp_connect_probe.h"
#include "agent/probes/traffic_counters.h"

#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "agent/net/monotonic_clock.h"
#include "agent/net/posix_error.h"
#include "agent/probes/attempt_result.h"
#include "agent/probes/proto_time.h"
#include "agent/probes/stream_end.h"
#include "agent/probes/tcp_info.h"

namespace netprobe {

TcpConnectProbe::TcpConnectProbe(TcpConnectPlan plan, EventLoop* loop, Resolver* resolver,
                                 std::shared_ptr<Sink> sink, std::function<void()> done)
    : plan_(std::move(plan)),
      loop_(loop),
      resolver_(resolver),
      sink_(std::move(sink)),
      done_(std::move(done)) {}

TcpConnectProbe::~TcpConnectProbe() { ReleaseAll(); }

void TcpConnectProbe::Start() {
  targets_.resize(plan_.targets.size());
  unresolved_ = targets_.size();
  for (size_t i = 0; i < targets_.size(); ++i) {
    targets_[i].spec = plan_.targets[i];
    const std::string field = absl::StrCat("targets[", i, "]");
    ResolveOnLoop(
        resolver_, loop_, alive_, targets_[i].spec.host, plan_.family, field,
        plan_.admission.AddressCheck(),
        [this, i](absl::StatusOr<SocketAddress> r) { OnResolved(i, std::move(r)); });
    if (finished_) return;
  }
}

void TcpConnectProbe::OnResolved(size_t target, absl::StatusOr<SocketAddress> address) {
  if (finished_) return;
  if (!address.ok()) {
    // A target that cannot be resolved makes the request unusable as a whole.
    finished_ = true;
    sink_->Finish(address.status());
    done_();
    return;
  }
  address->set_port(targets_[target].spec.port);
  if (plan_.setup.source && plan_.setup.source->family() != address->family()) {
    finished_ = true;
    sink_->Finish(absl::InvalidArgumentError(absl::StrCat(
        "targets[", target, "]: ", targets_[target].spec.host, " resolves to ",
        address->ip(), ", not of the family of options.source_address ",
        plan_.setup.source->ip())));
    done_();
    return;
  }
  targets_[target].address = *address;
  if (--unresolved_ == 0) Begin();
}

void TcpConnectProbe::Begin() {
  begun_ = true;
  const absl::Duration now = MonotonicNow();
  for (size_t i = 0; i < targets_.size(); ++i) {
    targets_[i].next_due = now;
    ready_.push_back(i);
  }
  Pump();
}

void TcpConnectProbe::Pump() {
  // Attempts that complete inside StartAttempt() call Pump() again; the outer
  // call's loop already goes on, and recursing would grow the stack per attempt.
  if (pumping_) return;
  pumping_ = true;
  while (!finished_ && !ready_.empty() && in_flight_.size() < plan_.concurrency) {
    if (!sink_->Writable()) {
      // The client reads slowly: pause instead of dropping results.
      ResumeWhenWritable(*sink_, &waiting_for_sink_, alive_, [this] { Pump(); });
      pumping_ = false;
      return;
    }
    // The policy's budgets (the caller's and the agent's total): a SYN each.
    const absl::Duration now = MonotonicNow();
    const absl::Duration budget_at = plan_.admission.budgets.NextSend(now);
    if (budget_at > now) {
      if (budget_timer_ == 0) {
        budget_timer_ = loop_->RunAt(budget_at, [this] {
          budget_timer_ = 0;
          Pump();
        });
      }
      break;
    }
    plan_.admission.budgets.Consume(now);
    const size_t target = ready_.front();
    ready_.pop_front();
    StartAttempt(target);
    ScheduleNext(target);
  }
  pumping_ = false;
  CheckFinished();
}

void TcpConnectProbe::ScheduleNext(size_t index) {
  Target& target = targets_[index];
  if (target.next_sequence > plan_.count || finished_) return;
  const absl::Duration now = MonotonicNow();
  // A late start does not make the following attempts burst to catch up.
  target.next_due = std::max(target.next_due + plan_.interval, now);
  if (target.next_due <= now) {
    ready_.push_back(index);
    return;
  }
  target.timer = loop_->RunAt(target.next_due, [this, index] {
    targets_[index].timer = 0;
    ready_.push_back(index);
    Pump();
  });
}

void TcpConnectProbe::StartAttempt(size_t index) {
  Target& target = targets_[index];
  const uint32_t sequence = target.next_sequence++;
  const absl::Time wall = absl::Now();
  const int family = target.address.family();
  UniqueFd fd(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    CompleteUnstarted(index, sequence, wall, ResultFromErrno(errno));
    return;
  }
  if (absl::Status s = ApplySocketSetup(fd.get(), family, true, plan_.setup); !s.ok()) {
    v1::AttemptResult result;
    result.set_outcome(v1::OUTCOME_ERROR);
    result.set_detail(std::string(s.message()));
    CompleteUnstarted(index, sequence, wall, result);
    return;
  }
  if (!plan_.graceful_close) {
    // close() then sends RST and leaves no TIME_WAIT behind, so sweeps do
    // not exhaust ports or fill the target's tables.
    linger abort{1, 0};
    setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
  }
  auto attempt = std::make_unique<Attempt>();
  attempt->target = index;
  attempt->sequence = sequence;
  attempt->wall_time = wall;
  attempt->started = MonotonicNow();
  const int rc = connect(fd.get(), target.address.get(), target.address.length());
  const int err = rc == 0 ? 0 : errno;
  if (rc == 0 || err == EINPROGRESS) TrafficCounters::Get().Sent(SendingProbe::kTcpConnect);
  if (rc != 0 && err != EINPROGRESS) {
    CompleteUnstarted(index, sequence, wall, ResultFromErrno(err));
    return;
  }
  const int raw = fd.get();
  attempt->fd = std::move(fd);
  Attempt& ref = *attempt;
  in_flight_.emplace(raw, std::move(attempt));
  // On loopback and for local refusals the handshake is over when connect()
  // returns: finish without the epoll round trip when nothing else follows.
  if (plan_.send_payload.empty() && plan_.read_bytes == 0 &&
      (rc == 0 || IsWritableNow(raw))) {
    OnSocketEvent(raw, EPOLLOUT, MonotonicNow());
    return;
  }
  absl::Status watched = loop_->Watch(raw, EPOLLOUT, [this, raw](uint32_t events) {
    OnSocketEvent(raw, events, loop_->poll_time());
  });
  if (!watched.ok()) {
    v1::AttemptResult result;
    result.set_outcome(v1::OUTCOME_ERROR);
    result.set_detail(std::string(watched.message()));
    Complete(raw, result);
    return;
  }
  ref.timer = loop_->RunAfter(plan_.timeout, [this, raw] { OnTimeout(raw); });
}

void TcpConnectProbe::OnSocketEvent(int fd, uint32_t events, absl::Duration seen_at) {
  auto it = in_flight_.find(fd);
  if (it == in_flight_.end()) return;
  Attempt& attempt = *it->second;
  if (attempt.connected) {
    ContinueExchange(attempt, events);
    return;
  }
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  ToProto(seen_at - attempt.started, attempt.event.mutable_connect_time());
  if (err != 0) {
    Complete(fd, ResultFromErrno(err));
    return;
  }
  OnConnected(attempt);
}

bool TcpConnectProbe::IsWritableNow(int fd) {
  pollfd pfd{fd, POLLOUT, 0};
  return poll(&pfd, 1, 0) == 1;
}

void TcpConnectProbe::OnConnected(Attempt& attempt) {
  attempt.connected = true;
  const int fd = attempt.fd.get();
  sockaddr_storage local;
  socklen_t len = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
    const SocketAddress address =
        SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&local), len);
    attempt.event.set_local_address(address.ip());
    attempt.event.set_local_port(address.port());
  }
  if (plan_.tcp_info) ReadTcpInfo(fd, attempt.event.mutable_tcp_info()).IgnoreError();
  if (plan_.send_payload.empty() && plan_.read_bytes == 0) {
    Complete(fd, ResultFromErrno(0));
    return;
  }
  // The timeout now bounds the exchange that follows the connect.
  loop_->Cancel(attempt.timer);
  attempt.timer = loop_->RunAfter(plan_.timeout, [this, fd] { OnTimeout(fd); });
  ContinueExchange(attempt, EPOLLOUT);
}

void TcpConnectProbe::ContinueExchange(Attempt& attempt, uint32_t events) {
  const int fd = attempt.fd.get();
  while (attempt.payload_sent < plan_.send_payload.size()) {
    const ssize_t n =
        send(fd, plan_.send_payload.data() + attempt.payload_sent,
             plan_.send_payload.size() - attempt.payload_sent, MSG_NOSIGNAL);
    if (n > 0) {
      attempt.payload_sent += n;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;  // EPOLLOUT resumes.
    Complete(fd, ResultFromErrno(errno));
    return;
  }
  if (plan_.read_bytes == 0) {
    Complete(fd, ResultFromErrno(0));
    return;
  }
  std::string* banner = attempt.event.mutable_banner();
  while (banner->size() < plan_.read_bytes) {
    char buf[4096];
    const size_t want = std::min(sizeof(buf), plan_.read_bytes - banner->size());
    const ssize_t n = recv(fd, buf, want, 0);
    if (n > 0) {
      banner->append(buf, n);
      continue;
    }
    if (n == 0) break;  // The peer closed: the banner is what came.
    if (errno == EAGAIN || errno == EINTR) {
      loop_->Modify(fd, EPOLLIN).IgnoreError();
      return;
    }
    // Reset after connecting: still connected, so the attempt is OK.
    break;
  }
  Complete(fd, ResultFromErrno(0));
}

void TcpConnectProbe::OnTimeout(int fd) {
  auto it = in_flight_.find(fd);
  if (it == in_flight_.end()) return;
  Attempt& attempt = *it->second;
  attempt.timer = 0;
  if (attempt.connected) {
    Complete(fd, ResultFromErrno(0));  // Banner wait over; connect succeeded.
    return;
  }
  ToProto(MonotonicNow() - attempt.started, attempt.event.mutable_connect_time());
  v1::AttemptResult result;
  result.set_outcome(v1::OUTCOME_TIMEOUT);
  result.set_detail(
      absl::StrCat("no answer within ", absl::FormatDuration(plan_.timeout)));
  Complete(fd, result);
}

void TcpConnectProbe::Complete(int fd, v1::AttemptResult result) {
  auto it = in_flight_.find(fd);
  if (it == in_flight_.end()) return;
  std::unique_ptr<Attempt> attempt = std::move(it->second);
  in_flight_.erase(it);
  loop_->Unwatch(fd);
  if (attempt->timer != 0) loop_->Cancel(attempt->timer);
  attempt->fd.reset();
  Target& target = targets_[attempt->target];
  v1::TcpConnectEvent event;
  v1::TcpAttempt* out = event.mutable_attempt();
  *out = std::move(attempt->event);
  FillEndpoint(target, out->mutable_target());
  out->set_sequence(attempt->sequence);
  ToProto(attempt->wall_time, out->mutable_time());
  const bool ok = result.outcome() == v1::OUTCOME_OK;
  *out->mutable_result() = std::move(result);
  target.tally.Record(
      out->result().outcome(),
      ok ? std::optional<absl::Duration>(FromProto(out->connect_time())) : std::nullopt);
  sink_->Emit(std::move(event));
  Pump();
}

void TcpConnectProbe::CompleteUnstarted(size_t index, uint32_t sequence, absl::Time wall,
                                        v1::AttemptResult result) {
  Target& target = targets_[index];
  v1::TcpConnectEvent event;
  v1::TcpAttempt* out = event.mutable_attempt();
  FillEndpoint(target, out->mutable_target());
  out->set_sequence(sequence);
  ToProto(wall, out->mutable_time());
  target.tally.Record(result.outcome());
  *out->mutable_result() = std::move(result);
  sink_->Emit(std::move(event));
}

void TcpConnectProbe::CheckFinished() {
  if (finished_ || !begun_ || !in_flight_.empty() || !ready_.empty()) return;
  for (const Target& target : targets_) {
    if (target.next_sequence <= plan_.count) return;
  }
  finished_ = true;
  EmitSummaries();
  sink_->Finish(absl::OkStatus());
  done_();
}

void TcpConnectProbe::EmitSummaries() {
  for (const Target& target : targets_) {
    v1::TcpConnectEvent event;
    v1::TargetSummary* summary = event.mutable_summary();
    FillEndpoint(target, summary->mutable_target());
    target.tally.Fill(summary);
    sink_->Emit(std::move(event));
  }
}

void TcpConnectProbe::Stop(StopReason reason) {
  if (finished_) return;
  finished_ = true;
  ReleaseAll();
  if (reason == StopReason::kAgentShutdown) {
    v1::TcpConnectEvent end;
    FillShutdownEnd(
        "the agent is shutting down; attempts in flight were abandoned uncounted",
        end.mutable_end());
    sink_->Emit(std::move(end));
    EmitSummaries();
    sink_->Finish(absl::OkStatus());
  } else {
    sink_->Finish(absl::CancelledError("cancelled by the client"));
  }
  done_();
}

void TcpConnectProbe::ReleaseAll() {
  for (auto& [fd, attempt] : in_flight_) {
    loop_->Unwatch(fd);
    if (attempt->timer != 0) loop_->Cancel(attempt->timer);
  }
  in_flight_.clear();  // Closes the sockets (RST unless graceful).
  for (Target& target : targets_) {
    if (target.timer != 0) loop_->Cancel(target.timer);
    target.timer = 0;
  }
  ready_.clear();
  if (budget_timer_ != 0) loop_->Cancel(budget_timer_);
  budget_timer_ = 0;
}

void TcpConnectProbe::FillEndpoint(const Target& target, v1::Endpoint* out) const {
  out->set_host(target.spec.host);
  out->set_port(target.spec.port);
  if (target.address.valid()) {
    out->set_address(target.address.ip());
    out->set_family(target.address.family() == AF_INET6 ? v1::ADDRESS_FAMILY_IPV6
                                                        : v1::ADDRESS_FAMILY_IPV4);
  }
}

}  // namespace netprobe
