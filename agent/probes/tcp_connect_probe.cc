#include "agent/probes/tcp_connect_probe.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "agent/net/socket_opener.h"
#include "agent/probes/attempt_result.h"
#include "agent/probes/attempt_sent.h"
#include "agent/probes/flow_capture.h"
#include "agent/probes/tcp_info.h"
#include "agent/probes/traffic_counters.h"
#include "common/posix_error.h"
#include "common/proto_time.h"

namespace netprobe {

TcpConnectProbe::TcpConnectProbe(TcpConnectPlan plan, EventLoop* loop, BlockingWork work,
                                 std::shared_ptr<Sink> sink, std::function<void()> done)
    : ProbeBase(loop, std::move(sink), std::move(done)),
      plan_(std::move(plan)),
      work_(std::move(work)) {}

TcpConnectProbe::~TcpConnectProbe() { Release(); }

void TcpConnectProbe::Start() {
  targets_.resize(plan_.targets.size());
  unresolved_ = targets_.size();
  for (size_t i = 0; i < targets_.size(); ++i) {
    targets_[i].spec = plan_.targets[i];
    const std::string field = absl::StrCat("targets[", i, "]");
    ResolveOnLoop(
        work_, loop_, alive(), targets_[i].spec.host, plan_.family, field,
        plan_.admission.AddressCheck(),
        [this, i](absl::StatusOr<SocketAddress> r) { OnResolved(i, std::move(r)); });
    if (finished()) return;
  }
}

void TcpConnectProbe::OnResolved(size_t target, absl::StatusOr<SocketAddress> address) {
  if (finished()) return;
  // A target that cannot be resolved makes the request unusable as a whole.
  if (!address.ok()) return Fail(address.status());
  address->set_port(targets_[target].spec.port);
  if (plan_.setup.source && plan_.setup.source->family() != address->family()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "targets[", target, "]: ", targets_[target].spec.host, " resolves to ",
        address->ip(), ", not of the family of options.source_address ",
        plan_.setup.source->ip())));
  }
  targets_[target].address = *address;
  if (--unresolved_ == 0) Begin();
}

void TcpConnectProbe::Begin() {
  if (!plan_.capture) return StartPacing();
  // The first SYN leaves once the capture sees the probe's packets.
  std::vector<SocketAddress> addresses;
  for (const Target& target : targets_) addresses.push_back(target.address);
  StartCapture(
      *plan_.capture, work_, FlowCaptureFilter(IPPROTO_TCP, addresses),
      [this](const CapturedIp& ip) { return ClassifyCaptured(ip); },
      [this] { StartPacing(); });
}

void TcpConnectProbe::StartPacing() {
  Pacer::Options pacing;
  pacing.targets = targets_.size();
  pacing.count = plan_.count;
  pacing.interval = plan_.interval;
  // The policy's budgets (the caller's and the agent's total): a SYN each.
  pacing.budgets = plan_.admission.budgets;
  // A sweep of many ports goes at once, as nmap's and nc -zv's do (1,000
  // ports well under a second, TcpConnectLabTest); --concurrency and the
  // budgets bound it. Spread over a default 1 s interval it would take 1 s.
  pacing.spread = false;
  pacer_.emplace(
      loop_, std::move(pacing), [this](size_t) { return MayStart(); },
      [this](size_t target, uint32_t sequence) { StartAttempt(target, sequence); });
  pacer_->Start();
  CheckFinished();
}

bool TcpConnectProbe::MayStart() {
  if (!Writable()) {
    // The client reads slowly: pause instead of dropping results.
    WhenWritable([this] {
      pacer_->Pump();
      CheckFinished();
    });
    return false;
  }
  // Attempts that end make room; they pump.
  return in_flight_.size() < plan_.concurrency;
}

void TcpConnectProbe::StartAttempt(size_t index, uint32_t sequence) {
  Target& target = targets_[index];
  const absl::Time wall = loop_->clock()->Wall();
  const int family = target.address.family();
  if (plan_.report_sends) {
    v1::Endpoint endpoint;
    FillEndpoint(target, &endpoint);
    Emit(AttemptSentEvent<v1::TcpConnectEvent>(std::move(endpoint), sequence, wall));
  }
  absl::StatusOr<std::unique_ptr<TcpSocket>> socket = loop_->sockets()->OpenTcp(
      family, plan_.setup,
      plan_.graceful_close ? TcpSocket::Close::kGraceful : TcpSocket::Close::kReset);
  if (!socket.ok()) {
    if (const int err = OpenErrno(socket.status()); err != 0) {
      return FinishUnstarted(index, sequence, wall, ResultFromErrno(err));
    }
    v1::AttemptResult result;
    result.set_outcome(v1::OUTCOME_ERROR);
    result.set_detail(std::string(socket.status().message()));
    return FinishUnstarted(index, sequence, wall, result);
  }
  auto attempt = std::make_unique<Attempt>();
  attempt->target = index;
  attempt->sequence = sequence;
  attempt->wall_time = wall;
  attempt->socket = *std::move(socket);
  attempt->started = loop_->Now();
  const int err = attempt->socket->Connect(target.address);
  if (err != 0 && err != EINPROGRESS) {
    return FinishUnstarted(index, sequence, wall, ResultFromErrno(err));
  }
  TrafficCounters::Get().Sent(SendingProbe::kTcpConnect);
  if (capturing()) {
    // connect() bound the local port: the capture tells the attempt's
    // packets by it.
    if (absl::StatusOr<SocketAddress> local = attempt->socket->LocalAddress();
        local.ok()) {
      attempt->capture_key = next_capture_key_++;
      const uint16_t port = local->port();
      if (captured_attempts_
              .insert_or_assign(port,
                                CapturedAttempt{index, sequence, attempt->capture_key})
              .second) {
        captured_order_.push_back(port);
        if (captured_order_.size() > ProbeCapture::kMaxNotes) {
          captured_attempts_.erase(captured_order_.front());
          captured_order_.pop_front();
        }
      }
    }
  }
  const int fd = attempt->socket->fd();
  Attempt& ref = *attempt;
  in_flight_.emplace(fd, std::move(attempt));
  // On loopback and for local refusals the handshake is over when connect()
  // returns: finish without the epoll round trip when nothing else follows.
  if (plan_.send_payload.empty() && plan_.read_bytes == 0 &&
      (err == 0 || ref.socket->WritableNow())) {
    OnSocketEvent(fd, EPOLLOUT, loop_->Now());
    return;
  }
  absl::Status watched = loop_->Watch(fd, EPOLLOUT, [this, fd](uint32_t events) {
    OnSocketEvent(fd, events, loop_->poll_time());
  });
  if (!watched.ok()) {
    v1::AttemptResult result;
    result.set_outcome(v1::OUTCOME_ERROR);
    result.set_detail(std::string(watched.message()));
    return FinishAttempt(fd, result);
  }
  ref.timer = loop_->RunAfter(plan_.timeout, [this, fd] { OnTimeout(fd); });
}

void TcpConnectProbe::OnSocketEvent(int fd, uint32_t events, absl::Duration seen_at) {
  auto it = in_flight_.find(fd);
  if (it == in_flight_.end()) return;
  Attempt& attempt = *it->second;
  if (attempt.connected) return ContinueExchange(attempt, events);
  const int err = attempt.socket->PendingError();
  ToProto(seen_at - attempt.started, attempt.event.mutable_connect_time());
  if (err != 0) {
    ErrorQueueEntry icmp;
    if (attempt.socket->ReadIcmpError(&icmp) && icmp.offender.valid()) {
      v1::AttemptResult result =
          ResultFromIcmpError(targets_[attempt.target].address.family() == AF_INET6,
                              icmp.icmp_type, icmp.icmp_code, icmp.offender.ip());
      result.set_error(ErrnoName(err));
      return FinishAttempt(fd, std::move(result));
    }
    return FinishAttempt(fd, ResultFromErrno(err));
  }
  OnConnected(attempt);
}

void TcpConnectProbe::OnConnected(Attempt& attempt) {
  attempt.connected = true;
  const int fd = attempt.socket->fd();
  if (absl::StatusOr<SocketAddress> local = attempt.socket->LocalAddress(); local.ok()) {
    attempt.event.set_local_address(local->ip());
    attempt.event.set_local_port(local->port());
  }
  if (plan_.tcp_info) {
    v1::TcpInfo* out = attempt.event.mutable_tcp_info();
    if (absl::StatusOr<TcpSocket::Info> info = attempt.socket->TcpInfo(); info.ok()) {
      DecodeTcpInfo(info->tcp_info.data(), info->tcp_info.size(), out);
      out->set_congestion(info->congestion);
    }
  }
  if (plan_.send_payload.empty() && plan_.read_bytes == 0) {
    return FinishAttempt(fd, ResultFromErrno(0));
  }
  // The timeout now bounds the exchange that follows the connect.
  loop_->Cancel(attempt.timer);
  attempt.timer = loop_->RunAfter(plan_.timeout, [this, fd] { OnTimeout(fd); });
  ContinueExchange(attempt, EPOLLOUT);
}

void TcpConnectProbe::ContinueExchange(Attempt& attempt, uint32_t events) {
  TcpSocket& socket = *attempt.socket;
  const int fd = socket.fd();
  while (attempt.payload_sent < plan_.send_payload.size()) {
    size_t sent = 0;
    const int err = socket.Send(
        absl::string_view(plan_.send_payload).substr(attempt.payload_sent), &sent);
    if (err == 0 && sent > 0) {
      attempt.payload_sent += sent;
      continue;
    }
    if (err == EAGAIN || err == EINTR) return;  // EPOLLOUT resumes.
    return FinishAttempt(fd, ResultFromErrno(err));
  }
  if (plan_.read_bytes == 0) return FinishAttempt(fd, ResultFromErrno(0));
  std::string* banner = attempt.event.mutable_banner();
  while (banner->size() < plan_.read_bytes) {
    char buf[4096];
    const size_t want = std::min(sizeof(buf), plan_.read_bytes - banner->size());
    size_t received = 0;
    const int err = socket.Receive(buf, want, &received);
    if (err == 0 && received > 0) {
      banner->append(buf, received);
      continue;
    }
    if (err == 0) break;  // The peer closed: the banner is what came.
    if (err == EAGAIN || err == EINTR) {
      loop_->Modify(fd, EPOLLIN).IgnoreError();
      return;
    }
    // Reset after connecting: still connected, so the attempt is OK.
    break;
  }
  FinishAttempt(fd, ResultFromErrno(0));
}

void TcpConnectProbe::OnTimeout(int fd) {
  auto it = in_flight_.find(fd);
  if (it == in_flight_.end()) return;
  Attempt& attempt = *it->second;
  attempt.timer = 0;
  if (attempt.connected) {
    return FinishAttempt(fd, ResultFromErrno(0));  // Banner wait over; connect succeeded.
  }
  ToProto(loop_->Now() - attempt.started, attempt.event.mutable_connect_time());
  v1::AttemptResult result;
  result.set_outcome(v1::OUTCOME_TIMEOUT);
  result.set_detail(
      absl::StrCat("no answer within ", absl::FormatDuration(plan_.timeout)));
  FinishAttempt(fd, result);
}

void TcpConnectProbe::FinishAttempt(int fd, v1::AttemptResult result) {
  auto it = in_flight_.find(fd);
  if (it == in_flight_.end()) return;
  std::unique_ptr<Attempt> attempt = std::move(it->second);
  in_flight_.erase(it);
  loop_->Unwatch(fd);
  if (attempt->timer != 0) loop_->Cancel(attempt->timer);
  attempt->socket.reset();
  Target& target = targets_[attempt->target];
  v1::TcpConnectEvent event;
  v1::TcpAttempt* out = event.mutable_attempt();
  *out = std::move(attempt->event);
  FillEndpoint(target, out->mutable_target());
  out->set_sequence(attempt->sequence);
  ToProto(attempt->wall_time, out->mutable_time());
  const bool ok = result.outcome() == v1::OUTCOME_OK;
  if (attempt->capture_key != 0) {
    NoteCapture(attempt->capture_key,
                absl::StrCat(CaptureLabel(attempt->target, attempt->sequence), " ",
                             ok ? absl::StrCat("connected ",
                                               CaptureMs(FromProto(out->connect_time())))
                                : CaptureOutcome(result)));
  }
  *out->mutable_result() = std::move(result);
  target.tally.Record(
      out->result().outcome(),
      ok ? std::optional<absl::Duration>(FromProto(out->connect_time())) : std::nullopt);
  Emit(std::move(event));
  pacer_->Pump();
  CheckFinished();
}

void TcpConnectProbe::FinishUnstarted(size_t index, uint32_t sequence, absl::Time wall,
                                      v1::AttemptResult result) {
  Target& target = targets_[index];
  v1::TcpConnectEvent event;
  v1::TcpAttempt* out = event.mutable_attempt();
  FillEndpoint(target, out->mutable_target());
  out->set_sequence(sequence);
  ToProto(wall, out->mutable_time());
  target.tally.Record(result.outcome());
  *out->mutable_result() = std::move(result);
  Emit(std::move(event));
  // Called from the pacer's send (which goes on by itself), maybe its last.
  CheckFinished();
}

void TcpConnectProbe::CheckFinished() {
  if (finished() || !pacer_ || !pacer_->exhausted() || !in_flight_.empty()) return;
  Complete();
}

void TcpConnectProbe::AppendSummaries(std::vector<v1::TcpConnectEvent>* out) {
  for (const Target& target : targets_) {
    v1::TcpConnectEvent event;
    v1::TargetSummary* summary = event.mutable_summary();
    FillEndpoint(target, summary->mutable_target());
    target.tally.Fill(summary);
    out->push_back(std::move(event));
  }
}

void TcpConnectProbe::BeforeCutShort() {
  for (const auto& [fd, attempt] : in_flight_) {
    targets_[attempt->target].tally.RecordUnanswered();
  }
}

std::string TcpConnectProbe::CutShortDetail() const {
  return "attempts in flight are counted as sent and lost";
}

void TcpConnectProbe::Release() {
  if (pacer_) pacer_->Stop();
  for (auto& [fd, attempt] : in_flight_) {
    loop_->Unwatch(fd);
    if (attempt->timer != 0) loop_->Cancel(attempt->timer);
  }
  in_flight_.clear();  // Closes the sockets (RST unless graceful).
}

std::string TcpConnectProbe::CaptureLabel(size_t target, uint32_t sequence) const {
  if (targets_.size() == 1) return absl::StrCat("tcp attempt ", sequence);
  const SocketAddress& address = targets_[target].address;
  return absl::StrCat(
      "tcp ",
      address.family() == AF_INET6 ? absl::StrCat("[", address.ip(), "]") : address.ip(),
      ":", address.port(), " attempt ", sequence);
}

std::optional<ProbeCapture::Match> TcpConnectProbe::ClassifyCaptured(
    const CapturedIp& ip) {
  const std::optional<CapturedFlow> flow = ParseCapturedFlow(ip, IPPROTO_TCP);
  if (!flow) return std::nullopt;
  // Ours: between one of our local ports and that attempt's target.
  for (const uint16_t port : {flow->source.port(), flow->destination.port()}) {
    auto it = captured_attempts_.find(port);
    if (it == captured_attempts_.end()) continue;
    const CapturedAttempt& attempt = it->second;
    if (LocalPortTowards(*flow, targets_[attempt.target].address) != port) continue;
    ProbeCapture::Match match;
    match.key = attempt.key;
    match.unmatched = absl::StrCat(CaptureLabel(attempt.target, attempt.sequence),
                                   ", no result by the end");
    return match;
  }
  return std::nullopt;
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
