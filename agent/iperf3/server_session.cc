#include "agent/iperf3/server_session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/iperf3/data_stream.h"
#include "agent/net/socket_setup.h"
#include "agent/util/log.h"
#include "common/posix_error.h"

namespace netprobe::iperf3 {
namespace {

// iperf3's error numbers (iperf_api.h) sent after SERVER_ERROR; the client
// prints its text for them.
constexpr int kIeNumStreams = 6;          // "number of parallel streams too large"
constexpr int kIeReverseBidir = 25;       // "cannot be both reverse and bidirectional"
constexpr int kIeRecvParams = 114;        // "unable to receive parameters from client"
constexpr int kIeMaxServerDuration = 37;  // 3.17+: "client's requested duration
                                          // exceeds the server's maximum permitted limit"

absl::Duration ParamSeconds(double s) { return absl::Seconds(s); }

}  // namespace

absl::string_view RefusalName(Refusal refusal) {
  switch (refusal) {
    case Refusal::kBusy:
      return "busy";
    case Refusal::kClientNotAllowed:
      return "client_not_allowed";
    case Refusal::kOverLimits:
      return "over_limits";
    case Refusal::kBadParams:
      return "bad_params";
    case Refusal::kTimeout:
      return "timeout";
  }
  return "unknown";
}

// One data connection of the test, in iperf3's order (ids 1, 3, 4, ...).
struct ServerSession::Stream {
  int id = 0;
  bool sender = false;
  UniqueFd fd;  // until the test starts
  std::unique_ptr<DataStream> data;
  // Taken when the streams stop (TCP_INFO needs the socket).
  int64_t retransmits = -1;
  absl::Duration seconds;
};

ServerSession::ServerSession(EventLoop* loop, UniqueFd control, SocketAddress peer,
                             std::string cookie, SessionLimits limits,
                             Callbacks callbacks)
    : loop_(loop),
      control_(std::move(control)),
      peer_(peer),
      cookie_(std::move(cookie)),
      limits_(limits),
      callbacks_(std::move(callbacks)) {}

ServerSession::~ServerSession() {
  for (EventLoop::TimerId* timer :
       {&step_timer_, &end_timer_, &omit_timer_, &stall_timer_}) {
    if (*timer != 0) loop_->Cancel(*timer);
  }
  if (control_) loop_->Unwatch(control_.get());
}

void ServerSession::Start() {
  if (absl::Status watched = loop_->Watch(control_.get(), EPOLLIN,
                                          [this](uint32_t events) { OnControl(events); });
      !watched.ok()) {
    End(false, watched);
    return;
  }
  SendState(State::kParamExchange);
  ArmStepTimer("the client's parameters");
}

bool ServerSession::WantsTcpStream() const {
  return phase_ == Phase::kCreateStreams && !params_.udp &&
         static_cast<int>(streams_.size()) < streams_expected_;
}

bool ServerSession::WantsUdpStream() const {
  return phase_ == Phase::kCreateStreams && params_.udp &&
         static_cast<int>(streams_.size()) < streams_expected_;
}

void ServerSession::OnControl(uint32_t events) {
  if (events & EPOLLOUT) Flush();
  if (phase_ == Phase::kEnded) return;
  if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) return;
  // Bounded: control messages are a few bytes and one JSON frame.
  char buffer[4096];
  for (int round = 0; round < 64; ++round) {
    const ssize_t n = recv(control_.get(), buffer, sizeof(buffer), 0);
    if (n > 0) {
      if (!HandleControl(absl::string_view(buffer, n))) return;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    const int err = n < 0 ? errno : 0;
    // Results delivered: the client may close instead of sending IPERF_DONE.
    if (phase_ == Phase::kDisplayed) {
      End(true, absl::OkStatus());
    } else {
      End(false, err == 0
                     ? absl::UnavailableError("the client closed the control connection")
                     : PosixError("control connection", err));
    }
    return;
  }
}

bool ServerSession::HandleControl(absl::string_view data) {
  while (!data.empty() && phase_ != Phase::kEnded) {
    if (phase_ == Phase::kParams || phase_ == Phase::kResults) {
      absl::StatusOr<size_t> used = frame_.Feed(data);
      if (!used.ok()) {
        if (phase_ == Phase::kParams) {
          Refuse(Refusal::kBadParams, kIeRecvParams,
                 std::string(used.status().message()));
        } else {
          End(false, used.status());
        }
        return false;
      }
      data.remove_prefix(*used);
      if (!frame_.complete()) continue;
      if (phase_ == Phase::kParams) {
        OnParams();
      } else {
        OnClientResults();
      }
      continue;
    }
    const int8_t state = static_cast<int8_t>(data.front());
    data.remove_prefix(1);
    switch (static_cast<State>(state)) {
      case State::kTestEnd:
        if (phase_ == Phase::kRunning) {
          OnTestEnd();
          continue;
        }
        break;
      case State::kIperfDone:
        if (phase_ == Phase::kDisplayed) {
          End(true, absl::OkStatus());
          return false;
        }
        break;
      case State::kClientTerminate:
        End(false, absl::CancelledError("the client terminated the test"));
        return false;
      case State::kTestStart:
      case State::kTestRunning:
        continue;  // iperf3's server ignores these too
      default:
        break;
    }
    End(false, absl::InvalidArgumentError(
                   absl::StrCat("unexpected ", StateName(state), " from the client")));
    return false;
  }
  return phase_ != Phase::kEnded;
}

void ServerSession::OnParams() {
  absl::StatusOr<TestParams> params = DecodeParams(frame_.text());
  frame_.Reset();
  if (!params.ok()) {
    Refuse(Refusal::kBadParams, kIeRecvParams, std::string(params.status().message()));
    return;
  }
  params_ = *std::move(params);
  if (params_.parallel < 1) {
    Refuse(Refusal::kBadParams, kIeNumStreams,
           absl::StrCat("parallel is ", params_.parallel));
    return;
  }
  if (params_.reverse && params_.bidirectional) {
    Refuse(Refusal::kBadParams, kIeReverseBidir, "both reverse and bidirectional");
    return;
  }
  if (params_.parallel > limits_.max_parallel) {
    Refuse(Refusal::kOverLimits, kIeNumStreams,
           absl::StrCat(params_.parallel, " parallel streams, the limit is ",
                        limits_.max_parallel));
    return;
  }
  // As iperf3 3.17's --server-max-duration: a test bounded by bytes or
  // blocks (time 0) could run for ever, so it is refused too.
  const absl::Duration asked = ParamSeconds(params_.time_seconds + params_.omit_seconds);
  if (params_.time_seconds <= 0 || asked > limits_.max_duration) {
    Refuse(Refusal::kOverLimits, kIeMaxServerDuration,
           params_.time_seconds <= 0
               ? std::string("a test bounded by bytes or blocks, not by time")
               : absl::StrCat(absl::FormatDuration(asked), " asked, the limit is ",
                              absl::FormatDuration(limits_.max_duration)));
    return;
  }
  streams_expected_ = params_.parallel * (params_.bidirectional ? 2 : 1);
  // iperf_run_server: the first streams accepted receive, then those that
  // send; the client connects its senders first in bidirectional mode.
  receivers_expected_ = params_.reverse ? 0 : params_.parallel;
  phase_ = Phase::kCreateStreams;
  SendState(State::kCreateStreams);
  ArmStepTimer("the data connections");
}

void ServerSession::Refuse(Refusal refusal, int iperf_errno, const std::string& why) {
  // Counted before the client can see it.
  if (callbacks_.on_refused) callbacks_.on_refused(refusal);
  if (iperf_errno >= 0) {
    // iperf_exchange_parameters' error path: the state, then i_errno and
    // errno as 32-bit big-endian integers.
    SendState(State::kServerError);
    const uint32_t codes[2] = {htonl(static_cast<uint32_t>(iperf_errno)), htonl(0)};
    Send(absl::string_view(reinterpret_cast<const char*>(codes), sizeof(codes)));
  }
  End(false, absl::PermissionDeniedError(
                 absl::StrCat("refused (", RefusalName(refusal), "): ", why)));
}

absl::Status ServerSession::SetUpDataSocket(int fd) {
  SocketSetup setup;
  if (params_.window > 0) setup.send_buffer = setup.receive_buffer = params_.window;
  if (params_.tos > 0) setup.tos = params_.tos;
  setup.tcp_nodelay = !params_.udp && params_.nodelay;
  NETPROBE_RETURN_IF_ERROR(ApplySocketSetup(fd, peer_.family(), !params_.udp, setup));
  if (params_.udp) return absl::OkStatus();
  if (params_.mss > 0) {
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(fd, IPPROTO_TCP, TCP_MAXSEG, params_.mss, "TCP_MAXSEG"));
  }
  if (!params_.congestion.empty() &&
      setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, params_.congestion.data(),
                 params_.congestion.size()) != 0 &&
      errno != ENOENT) {
    // ENOENT: not available here; iperf3 warns and goes on with the default.
    return PosixError(absl::StrCat("setsockopt(TCP_CONGESTION ", params_.congestion, ")"),
                      errno);
  }
  char name[32] = {};
  socklen_t length = sizeof(name) - 1;
  if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &length) == 0) {
    congestion_used_.assign(name, strnlen(name, length));
  }
  return absl::OkStatus();
}

void ServerSession::AddStream(UniqueFd fd) {
  if (absl::Status setup = SetUpDataSocket(fd.get()); !setup.ok()) {
    End(false, setup);
    return;
  }
  auto stream = std::make_unique<Stream>();
  const int index = static_cast<int>(streams_.size());
  stream->id = index == 0 ? 1 : index + 2;  // iperf_add_stream skips 2
  stream->sender = index >= receivers_expected_;
  stream->fd = std::move(fd);
  streams_.push_back(std::move(stream));
  if (static_cast<int>(streams_.size()) == streams_expected_) BeginTest();
}

void ServerSession::BeginTest() {
  loop_->Cancel(step_timer_);
  step_timer_ = 0;
  cpu_.Start();
  SendState(State::kTestStart);
  for (auto& stream : streams_) {
    DataStream::Options options;
    options.id = stream->id;
    options.sender = stream->sender;
    options.udp = params_.udp;
    options.length = params_.length > 0
                         ? static_cast<size_t>(params_.length)
                         : (params_.udp ? kDefaultUdpBlockSize : kDefaultTcpBlockSize);
    options.bitrate = params_.bandwidth;
    options.udp_counters_64bit = params_.udp_counters_64bit;
    // A data connection that ends early (the client died, a reset) just
    // stops counting: the control connection or the stall check ends the
    // test.
    stream->data = std::make_unique<DataStream>(loop_, std::move(stream->fd), options,
                                                [](const absl::Status&) {});
  }
  for (auto& stream : streams_) {
    if (absl::Status started = stream->data->Start(); !started.ok()) {
      End(false, started);
      return;
    }
  }
  phase_ = Phase::kRunning;
  SendState(State::kTestRunning);
  test_start_ = loop_->Now();
  counting_since_ = test_start_;
  last_progress_ = test_start_;
  if (callbacks_.on_started) callbacks_.on_started();
  const absl::Duration planned =
      ParamSeconds(params_.time_seconds + params_.omit_seconds);
  end_timer_ = loop_->RunAfter(planned + limits_.end_grace, [this, planned] {
    end_timer_ = 0;
    End(false, absl::DeadlineExceededError(absl::StrCat(
                   "the client did not end the test ", absl::FormatDuration(planned),
                   " after it began (+", absl::FormatDuration(limits_.end_grace), ")")));
  });
  if (params_.omit_seconds > 0) {
    omit_timer_ = loop_->RunAfter(ParamSeconds(params_.omit_seconds), [this] {
      omit_timer_ = 0;
      // iperf_reset_stats: what was counted so far is left out.
      for (auto& stream : streams_) stream->data->ResetCounters();
      counting_since_ = loop_->Now();
    });
  }
  stall_timer_ = loop_->RunAfter(absl::Seconds(1), [this] { CheckStall(); });
}

void ServerSession::CheckStall() {
  stall_timer_ = 0;
  uint64_t progress = 0;
  for (const auto& stream : streams_) progress += stream->data->counters().total_bytes;
  const absl::Duration now = loop_->Now();
  if (progress != last_progress_bytes_) {
    last_progress_bytes_ = progress;
    last_progress_ = now;
  } else if (now - last_progress_ >= limits_.stall_timeout) {
    End(false, absl::DeadlineExceededError(absl::StrCat(
                   "no data moved for ", absl::FormatDuration(limits_.stall_timeout))));
    return;
  }
  stall_timer_ = loop_->RunAfter(absl::Seconds(1), [this] { CheckStall(); });
}

void ServerSession::OnTestEnd() {
  for (EventLoop::TimerId* timer : {&end_timer_, &omit_timer_, &stall_timer_}) {
    if (*timer != 0) loop_->Cancel(*timer);
    *timer = 0;
  }
  cpu_percent_ = cpu_.Percent();
  // What the client sent before TEST_END and the per-wakeup bound left in
  // the socket counts too.
  for (auto& stream : streams_) {
    if (!stream->sender && stream->data != nullptr) stream->data->Drain();
  }
  StopStreams();
  phase_ = Phase::kResults;
  frame_.Reset();
  SendState(State::kExchangeResults);
  ArmStepTimer("the client's results");
}

void ServerSession::OnClientResults() {
  absl::StatusOr<TestResults> theirs = DecodeResults(frame_.text());
  frame_.Reset();
  if (!theirs.ok()) {
    End(false, theirs.status());
    return;
  }
  Send(FrameJson(EncodeResults(OurResults())));
  phase_ = Phase::kDisplayed;
  SendState(State::kDisplayResults);
  ArmStepTimer("the client's IPERF_DONE");
}

void ServerSession::StopStreams() {
  const absl::Duration now = loop_->Now();
  for (auto& stream : streams_) {
    stream->fd.reset();
    if (stream->data == nullptr || stream->data->closed()) continue;
    if (stream->sender && !params_.udp) {
      stream->retransmits = stream->data->Retransmits().value_or(-1);
    }
    stream->seconds = now - counting_since_;
    stream->data->Close();
  }
}

TestResults ServerSession::OurResults() {
  TestResults results;
  results.cpu_total = cpu_percent_.total;
  results.cpu_user = cpu_percent_.user;
  results.cpu_system = cpu_percent_.system;
  // send_results: -1 when this end only received; TCP senders report
  // retransmits (Linux has TCP_INFO), UDP senders none.
  const bool sends = params_.reverse || params_.bidirectional;
  results.sender_has_retransmits = !sends ? -1 : (params_.udp ? 0 : 1);
  if (!params_.udp) results.congestion_used = congestion_used_;
  for (const auto& stream : streams_) {
    StreamResult line;
    line.id = stream->id;
    if (stream->data != nullptr) {
      const DataStream::Counters& counters = stream->data->counters();
      line.bytes = counters.bytes;
      line.retransmits = results.sender_has_retransmits == 1 ? stream->retransmits : -1;
      if (params_.udp && stream->sender) {
        // iperf3's packet_count: every sequence number used, omit included.
        line.packets = static_cast<int64_t>(counters.next_sequence - 1);
      } else if (params_.udp) {
        // send_results: the receiver's counts whole, omitted part included.
        const UdpReceiveStats& udp = stream->data->udp_stats();
        line.jitter_seconds = udp.jitter_seconds();
        line.errors = udp.errors();
        line.packets = static_cast<int64_t>(udp.packet_count());
      }
      line.end_time = absl::ToDoubleSeconds(stream->seconds);
    }
    results.streams.push_back(line);
  }
  return results;
}

void ServerSession::Send(absl::string_view bytes) {
  out_.append(bytes.data(), bytes.size());
  Flush();
}

void ServerSession::SendState(State state) {
  const char byte = static_cast<char>(state);
  Send(absl::string_view(&byte, 1));
}

void ServerSession::Flush() {
  while (!out_.empty() && control_) {
    const ssize_t n = send(control_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out_.erase(0, n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    out_.clear();  // the connection failed; the read side will tell
    break;
  }
  const bool want = !out_.empty();
  if (want != want_write_ && control_ && phase_ != Phase::kEnded) {
    want_write_ = want;
    loop_->Modify(control_.get(), want ? EPOLLIN | EPOLLOUT : uint32_t{EPOLLIN})
        .IgnoreError();
  }
}

void ServerSession::ArmStepTimer(const char* step) {
  if (step_timer_ != 0) loop_->Cancel(step_timer_);
  step_timer_ = loop_->RunAfter(limits_.handshake_timeout, [this, step] {
    step_timer_ = 0;
    absl::Status why = absl::DeadlineExceededError(
        absl::StrCat("waited ", absl::FormatDuration(limits_.handshake_timeout), " for ",
                     step, " in vain"));
    if (phase_ == Phase::kParams) {
      if (callbacks_.on_refused) callbacks_.on_refused(Refusal::kTimeout);
      End(false, why);
    } else {
      // Results sent: a client that does not say IPERF_DONE still has them.
      End(phase_ == Phase::kDisplayed, why);
    }
  });
}

void ServerSession::End(bool completed, absl::Status why) {
  if (phase_ == Phase::kEnded) return;
  const bool ran = phase_ >= Phase::kRunning;
  phase_ = Phase::kEnded;
  for (EventLoop::TimerId* timer :
       {&step_timer_, &end_timer_, &omit_timer_, &stall_timer_}) {
    if (*timer != 0) loop_->Cancel(*timer);
    *timer = 0;
  }
  StopStreams();
  if (control_) {
    Flush();  // a refusal's last bytes, as far as the socket takes them
    loop_->Unwatch(control_.get());
    control_.reset();
  }
  if (ran || !why.ok()) {
    LogLine(absl::StrCat(
        "iperf3 server: test from ", peer_.ip(),
        completed ? " completed" : " ended: ", completed ? "" : why.message()));
  }
  if (callbacks_.on_end) callbacks_.on_end(completed, why);
}

}  // namespace netprobe::iperf3
