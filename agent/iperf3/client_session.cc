#include "agent/iperf3/client_session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/posix_error.h"

namespace netprobe::iperf3 {
namespace {

// iperf3's UDP_RATE: the bitrate of a UDP test that names none.
constexpr uint64_t kDefaultUdpBitrate = 1024 * 1024;
// The largest UDP payload (iperf3's MAX_UDP_BLOCKSIZE).
constexpr int kMaxUdpLength = 65535 - 8 - 20;

absl::StatusOr<UniqueFd> OpenSocket(int family, int type, const SocketSetup& setup) {
  UniqueFd fd(socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return PosixError(type == SOCK_DGRAM ? "socket(SOCK_DGRAM)" : "socket(SOCK_STREAM)",
                      errno);
  }
  NETPROBE_RETURN_IF_ERROR(
      ApplySocketSetup(fd.get(), family, type == SOCK_STREAM, setup));
  return fd;
}

int SocketError(int fd) {
  int err = 0;
  socklen_t length = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &length) != 0) return errno;
  return err;
}

std::string DurationText(absl::Duration d) { return absl::FormatDuration(d); }

}  // namespace

ClientSession::ClientSession(EventLoop* loop, ClientSpec spec, Callbacks callbacks)
    : loop_(loop), spec_(std::move(spec)), callbacks_(std::move(callbacks)) {
  TestParams& p = spec_.params;
  if (p.udp && p.bandwidth == 0) p.bandwidth = kDefaultUdpBitrate;
  // The data sockets: data_setup, with what the parameters ask for (the
  // server applies the same to its ends), as iperf_tcp_connect does.
  stream_setup_ = spec_.data_setup;
  // A buffer data_setup sets wins over the window on this end (the agent's
  // --sndbuf with -w); the window still goes to the server for its end.
  if (p.window > 0 && !stream_setup_.send_buffer) stream_setup_.send_buffer = p.window;
  if (p.window > 0 && !stream_setup_.receive_buffer) {
    stream_setup_.receive_buffer = p.window;
  }
  if (p.mss > 0) stream_setup_.mss = p.mss;
  if (stream_setup_.mss && p.mss == 0) p.mss = *stream_setup_.mss;
  if (p.nodelay) stream_setup_.tcp_nodelay = true;
  if (p.tos != 0) stream_setup_.tos = p.tos;
  if (!p.congestion.empty()) stream_setup_.congestion = p.congestion;
  if (p.congestion.empty()) p.congestion = stream_setup_.congestion;
}

ClientSession::~ClientSession() { Cancel(); }

void ClientSession::Start() {
  if (phase_ != Phase::kIdle) return;
  phase_ = Phase::kConnecting;
  cookie_ = NewCookie();
  absl::StatusOr<UniqueFd> fd =
      OpenSocket(spec_.server.family(), SOCK_STREAM, spec_.control_setup);
  if (!fd.ok()) {
    Finish(fd.status());
    return;
  }
  control_ = *std::move(fd);
  // Control messages are single bytes: no Nagle delay (iperf3 does the same).
  (void)SetIntSocketOption(control_.get(), IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
  absl::Status watched = loop_->Watch(
      control_.get(), EPOLLOUT, [this](uint32_t events) { OnControlEvents(events); });
  if (!watched.ok()) {
    Finish(watched);
    return;
  }
  control_watched_ = true;
  control_writing_ = true;
  if (connect(control_.get(), spec_.server.get(), spec_.server.length()) != 0 &&
      errno != EINPROGRESS) {
    Finish(PosixError(absl::StrCat("connect(", spec_.server.ToString(), ")"), errno));
    return;
  }
  phase_timer_ = loop_->RunAfter(spec_.connect_timeout, [this] {
    phase_timer_ = 0;
    Finish(absl::DeadlineExceededError(
        absl::StrCat("connect(", spec_.server.ToString(), "): no answer within ",
                     DurationText(spec_.connect_timeout))));
  });
}

void ClientSession::Cancel() {
  if (phase_ == Phase::kDone && cancelled_) return;
  cancelled_ = true;
  // Nothing queued may follow a cancel onto the wire.
  for (auto& stream : streams_) stream->Abort();
  CloseAll();
  phase_ = Phase::kDone;
}

// ---------------------------------------------------------------------------
// The control connection.

void ClientSession::OnControlEvents(uint32_t events) {
  if (phase_ == Phase::kConnecting) {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
    if (const int err = SocketError(control_.get()); err != 0) {
      Finish(PosixError(absl::StrCat("connect(", spec_.server.ToString(), ")"), err));
      return;
    }
    OnControlConnected();
    return;
  }
  if (events & EPOLLOUT) FlushControl();
  if (phase_ == Phase::kDone) return;
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ReadControl();
}

void ClientSession::OnControlConnected() {
  CancelTimer(phase_timer_);
  phase_ = Phase::kWaitParamExchange;
  // From now on the server's bytes are read; EPOLLOUT only while out_ waits.
  if (!loop_->Modify(control_.get(), EPOLLIN).ok()) {
    Finish(absl::InternalError("epoll_ctl(MOD) of the control connection failed"));
    return;
  }
  control_writing_ = false;
  TestParams& p = spec_.params;
  if (p.udp && p.length == 0) {
    // iperf_connect: a UDP test without a length sends datagrams of the
    // control connection's MSS, so they fit the path unfragmented.
    int mss = 0;
    socklen_t length = sizeof(mss);
    const bool known =
        getsockopt(control_.get(), IPPROTO_TCP, TCP_MAXSEG, &mss, &length) == 0 &&
        mss > 0 && mss <= kMaxUdpLength;
    p.length = known ? mss : static_cast<int>(kDefaultUdpBlockSize);
  }
  SendControl(cookie_);
  if (phase_ == Phase::kDone) return;
  last_progress_at_ = loop_->Now();
  last_progress_ = Progress();
  stall_timer_ = loop_->RunAfter(StallPeriod(), [this] { CheckStall(); });
}

void ClientSession::SendControl(absl::string_view bytes) {
  out_.append(bytes.data(), bytes.size());
  FlushControl();
}

void ClientSession::FlushControl() {
  while (!out_.empty()) {
    const ssize_t n = send(control_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Finish(ControlLost(PosixError("control connection: send", errno)));
      return;
    }
    out_.erase(0, static_cast<size_t>(n));
  }
  const bool want = !out_.empty();
  if (want != control_writing_ && control_watched_) {
    if (loop_->Modify(control_.get(), EPOLLIN | (want ? uint32_t{EPOLLOUT} : 0u)).ok()) {
      control_writing_ = want;
    }
  }
}

void ClientSession::ReadControl() {
  char buffer[4096];
  bool eof = false;
  absl::Status error;
  while (true) {
    const ssize_t n = recv(control_.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n > 0) {
      in_.append(buffer, static_cast<size_t>(n));
      control_bytes_in_ += static_cast<uint64_t>(n);
      if (first_bytes_.size() < 64) {
        first_bytes_.append(
            buffer, std::min<size_t>(static_cast<size_t>(n), 64 - first_bytes_.size()));
      }
      if (static_cast<size_t>(n) < sizeof(buffer)) break;
      continue;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      error = PosixError("control connection: recv", errno);
    }
    break;
  }
  ProcessControlInput();
  if (phase_ == Phase::kDone) return;
  if (!error.ok()) {
    Finish(ControlLost(error));
  } else if (eof) {
    Finish(ControlClosed());
  }
}

absl::Status ClientSession::ControlLost(const absl::Status& why) const {
  return absl::UnavailableError(absl::StrCat(why.message(), " (", PhaseText(), ")"));
}

absl::Status ClientSession::ControlClosed() const {
  if (phase_ == Phase::kWaitParamExchange && control_bytes_in_ == 0) {
    return absl::FailedPreconditionError(
        "the server closed the connection without a word: not an iperf3 server, or one "
        "that turned us away");
  }
  if (phase_ == Phase::kRunning) {
    return absl::UnavailableError(
        "the server went away during the test (it closed the control connection)");
  }
  return absl::UnavailableError(
      absl::StrCat("the server closed the control connection ", PhaseText()));
}

std::string ClientSession::PhaseText() const {
  switch (phase_) {
    case Phase::kRunning:
      return "during the test";
    case Phase::kWaitExchangeResults:
    case Phase::kReadingResults:
    case Phase::kWaitDisplayResults:
      return "after the test, in the result exchange";
    default:
      return "before the test started";
  }
}

void ClientSession::ProcessControlInput() {
  size_t pos = 0;
  while (phase_ != Phase::kDone && pos < in_.size()) {
    if (reading_server_error_) {
      // SERVER_ERROR is followed by iperf3's error number and the errno,
      // both 32-bit big-endian.
      if (in_.size() - pos < 8) break;
      uint32_t numbers[2];
      std::memcpy(numbers, in_.data() + pos, sizeof(numbers));
      pos += 8;
      const int iperf_error = static_cast<int>(ntohl(numbers[0]));
      const int err = static_cast<int>(ntohl(numbers[1]));
      Finish(absl::UnavailableError(absl::StrCat(
          "the server reported an error (SERVER_ERROR: iperf3 error ", iperf_error,
          err != 0 ? absl::StrCat(", ", ErrnoName(err)) : "", ") ", PhaseText())));
      break;
    }
    if (phase_ == Phase::kReadingResults) {
      absl::StatusOr<size_t> used =
          results_reader_.Feed(absl::string_view(in_).substr(pos));
      if (!used.ok()) {
        Finish(absl::FailedPreconditionError(
            absl::StrCat("the server's results: ", used.status().message())));
        break;
      }
      pos += *used;
      if (!results_reader_.complete()) break;
      absl::StatusOr<TestResults> remote = DecodeResults(results_reader_.text());
      if (!remote.ok()) {
        Finish(absl::FailedPreconditionError(
            absl::StrCat("the server's results: ", remote.status().message())));
        break;
      }
      remote_ = *std::move(remote);
      phase_ = Phase::kWaitDisplayResults;
      continue;
    }
    HandleState(static_cast<int8_t>(in_[pos++]));
  }
  if (phase_ != Phase::kDone) in_.erase(0, pos);
}

std::string ClientSession::DescribeForeignBytes() const {
  const absl::string_view first(first_bytes_);
  const size_t common = std::min(first.size(), cookie_.size());
  if (common > 0 &&
      first.substr(0, common) == absl::string_view(cookie_).substr(0, common)) {
    return "it sent our own bytes back: an echo server?";
  }
  return absl::StrCat("it sent \"", absl::CHexEscape(first.substr(0, 40)),
                      first.size() > 40 ? "...\"" : "\"");
}

void ClientSession::HandleState(int8_t state) {
  switch (static_cast<State>(state)) {
    case State::kAccessDenied:
      Finish(absl::UnavailableError(
          "the server is busy (ACCESS_DENIED): it is running another test, or does not "
          "take tests from us"));
      return;
    case State::kServerError:
      reading_server_error_ = true;
      return;
    case State::kServerTerminate:
      Finish(absl::UnavailableError(
          absl::StrCat("the server ended the test (SERVER_TERMINATE) ", PhaseText())));
      return;
    default:
      break;
  }
  const auto unexpected = [&] {
    if (phase_ == Phase::kWaitParamExchange) {
      Finish(absl::FailedPreconditionError(
          absl::StrCat("not an iperf3 server (", DescribeForeignBytes(), ")")));
    } else {
      Finish(absl::FailedPreconditionError(absl::StrCat(
          "protocol error: the server sent ", StateName(state), " ", PhaseText())));
    }
  };
  switch (phase_) {
    case Phase::kWaitParamExchange:
      if (state != static_cast<int8_t>(State::kParamExchange)) return unexpected();
      phase_ = Phase::kWaitCreateStreams;
      SendControl(FrameJson(EncodeParams(spec_.params)));
      return;
    case Phase::kWaitCreateStreams:
      if (state != static_cast<int8_t>(State::kCreateStreams)) return unexpected();
      phase_ = Phase::kCreatingStreams;
      CreateStreams();
      return;
    case Phase::kCreatingStreams:
      // The server has the last stream (our UDP "hello" reached it) before
      // its reply reached us: the states may come first.
      if (state == static_cast<int8_t>(State::kTestStart)) return;
      if (state != static_cast<int8_t>(State::kTestRunning)) return unexpected();
      running_early_ = true;
      return;
    case Phase::kWaitTestRunning:
      if (state == static_cast<int8_t>(State::kTestStart)) return;
      if (state != static_cast<int8_t>(State::kTestRunning)) return unexpected();
      StartTest();
      return;
    case Phase::kWaitExchangeResults:
      if (state != static_cast<int8_t>(State::kExchangeResults)) return unexpected();
      phase_ = Phase::kReadingResults;
      results_reader_.Reset();
      // The server closed its ends at TEST_END: what it sent is here.
      for (auto& stream : streams_) stream->Drain();
      // What we send is what we report: the streams close after this.
      sent_results_ = LocalResults();
      SendControl(FrameJson(EncodeResults(*sent_results_)));
      return;
    case Phase::kWaitDisplayResults:
      if (state != static_cast<int8_t>(State::kDisplayResults)) return unexpected();
      // iperf_client_end: the streams closed, IPERF_DONE, the control
      // connection closed.
      for (auto& stream : streams_) stream->Close();
      SendControl(std::string(1, static_cast<char>(State::kIperfDone)));
      Finish(absl::OkStatus());
      return;
    default:
      return unexpected();
  }
}

// ---------------------------------------------------------------------------
// The data streams.

void ClientSession::CreateStreams() {
  const TestParams& p = spec_.params;
  streams_wanted_ = p.bidirectional ? 2 * p.parallel : p.parallel;
  // -n / -k: what the senders send and the receivers count, apart, as
  // iperf3's bytes_sent and bytes_received; either reaching it ends the test.
  uint64_t limit = p.bytes;
  if (limit == 0 && p.blocks > 0)
    limit = p.blocks * static_cast<uint64_t>(StreamLength());
  if (limit > 0) {
    send_budget_ = std::make_unique<ByteBudget>(limit, [this] { BudgetReached(); });
    receive_budget_ = std::make_unique<ByteBudget>(limit, [this] { BudgetReached(); });
  }
  CreateNextStream();
}

int ClientSession::StreamLength() const {
  const TestParams& p = spec_.params;
  if (p.length > 0) return p.length;
  return p.udp ? static_cast<int>(kDefaultUdpBlockSize)
               : static_cast<int>(kDefaultTcpBlockSize);
}

void ClientSession::CreateNextStream() {
  const TestParams& p = spec_.params;
  const int index = static_cast<int>(streams_.size());
  if (index == streams_wanted_) {
    phase_ = Phase::kWaitTestRunning;
    if (running_early_) StartTest();
    return;
  }
  PendingStream pending;
  // Bidirectional: the client's sending streams first (iperf_handle_message_client).
  pending.sender = p.bidirectional ? index < p.parallel : !p.reverse;
  const int family = spec_.server.family();
  SocketSetup setup = stream_setup_;
  if (setup.source && setup.source->port() != 0) {
    // iperf3's --cport: stream i binds port + i (the bidirectional
    // receivers after all the senders), so each has its own.
    setup.source->set_port(static_cast<uint16_t>(setup.source->port() + index));
  }
  absl::StatusOr<UniqueFd> fd =
      OpenSocket(family, p.udp ? SOCK_DGRAM : SOCK_STREAM, setup);
  if (!fd.ok()) {
    Finish(absl::Status(fd.status().code(), absl::StrCat("data stream ", NextStreamId(),
                                                         ": ", fd.status().message())));
    return;
  }
  pending.fd = *std::move(fd);
  const int pfd = pending.fd.get();
  pending_ = std::move(pending);
  if (connect(pfd, spec_.server.get(), spec_.server.length()) != 0 &&
      errno != EINPROGRESS) {
    Finish(PosixError(absl::StrCat("data stream ", NextStreamId(), ": connect(",
                                   spec_.server.ToString(), ")"),
                      errno));
    return;
  }
  if (p.udp) {
    // iperf_udp_connect: a 4-byte "hello" the server answers on this socket.
    const uint32_t hello = kUdpConnectMessage;
    if (send(pfd, &hello, sizeof(hello), MSG_NOSIGNAL) != sizeof(hello)) {
      Finish(PosixError(absl::StrCat("data stream ", NextStreamId(), ": send"), errno));
      return;
    }
  }
  absl::Status watched =
      loop_->Watch(pfd, p.udp ? uint32_t{EPOLLIN} : uint32_t{EPOLLOUT},
                   [this](uint32_t events) { OnStreamConnectEvents(events); });
  if (!watched.ok()) {
    Finish(watched);
    return;
  }
  pending_->watched = true;
}

int ClientSession::NextStreamId() const {
  // iperf_add_stream: 1, then 3, 4, ... (a quirk iperf3 keeps for
  // compatibility).
  return streams_.empty() ? 1 : static_cast<int>(streams_.size()) + 2;
}

void ClientSession::OnStreamConnectEvents(uint32_t events) {
  if (!pending_) return;
  const int fd = pending_->fd.get();
  const int id = NextStreamId();
  if (!spec_.params.udp) {
    if (const int err = SocketError(fd); err != 0) {
      Finish(PosixError(
          absl::StrCat("data stream ", id, ": connect(", spec_.server.ToString(), ")"),
          err));
      return;
    }
    if ((events & EPOLLOUT) == 0) return;
    // The cookie tells the server which test the connection is for; 37
    // bytes into an empty socket buffer go at once.
    const ssize_t n = send(fd, cookie_.data(), cookie_.size(), MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(cookie_.size())) {
      Finish(n < 0 ? PosixError(absl::StrCat("data stream ", id, ": send"), errno)
                   : absl::UnavailableError(
                         absl::StrCat("data stream ", id, ": the cookie did not fit")));
      return;
    }
    StreamConnected();
    return;
  }
  // UDP: the reply (or the one before iperf3 3.11); anything else is
  // skipped, as iperf3 does.
  for (int i = 0; i < 64; ++i) {
    uint32_t reply = 0;
    const ssize_t n = recv(fd, &reply, sizeof(reply), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      Finish(
          errno == ECONNREFUSED
              ? absl::UnavailableError(absl::StrCat(
                    "data stream ", id,
                    ": the server's UDP port refused the connect message (ECONNREFUSED)"))
              : PosixError(absl::StrCat("data stream ", id, ": recv"), errno));
      return;
    }
    if (n == sizeof(reply) &&
        (reply == kUdpConnectReply || reply == kLegacyUdpConnectReply)) {
      StreamConnected();
      return;
    }
  }
}

void ClientSession::StreamConnected() {
  PendingStream pending = *std::move(pending_);
  pending_.reset();
  loop_->Unwatch(pending.fd.get());
  const TestParams& p = spec_.params;
  if (!p.udp && congestion_used_.empty()) {
    char name[32] = {};
    socklen_t length = sizeof(name) - 1;
    if (getsockopt(pending.fd.get(), IPPROTO_TCP, TCP_CONGESTION, name, &length) == 0) {
      congestion_used_.assign(name, strnlen(name, length));
    }
  }
  DataStream::Options options;
  options.id = NextStreamId();
  options.sender = pending.sender;
  options.udp = p.udp;
  options.length = static_cast<size_t>(StreamLength());
  options.bitrate = pending.sender ? p.bandwidth : 0;
  options.udp_counters_64bit = p.udp_counters_64bit;
  options.budget = pending.sender ? send_budget_.get() : receive_budget_.get();
  streams_.push_back(std::make_unique<DataStream>(
      loop_, std::move(pending.fd), options,
      [this](const absl::Status& why) { OnStreamClosed(why); }));
  CreateNextStream();
}

void ClientSession::StartTest() {
  const TestParams& p = spec_.params;
  phase_ = Phase::kRunning;
  ran_ = true;
  running_at_ = measure_from_ = loop_->Now();
  cpu_.Start();
  omitting_ = p.omit_seconds > 0;
  if (omitting_) {
    if (send_budget_) send_budget_->set_active(false);
    if (receive_budget_) receive_budget_->set_active(false);
  }
  for (auto& stream : streams_) {
    if (absl::Status started = stream->Start(); !started.ok()) {
      Finish(started);
      return;
    }
  }
  if (omitting_) {
    omit_timer_ = loop_->RunAfter(absl::Seconds(p.omit_seconds), [this] {
      omit_timer_ = 0;
      OmitOver();
    });
  }
  // create_client_timers: the test ends omit + time after it started.
  if (p.time_seconds > 0) {
    end_timer_ = loop_->RunAfter(absl::Seconds(p.omit_seconds + p.time_seconds), [this] {
      end_timer_ = 0;
      EndTest();
    });
  }
  if (callbacks_.on_running) callbacks_.on_running();
}

void ClientSession::OmitOver() {
  if (phase_ != Phase::kRunning) return;
  // client_omit_timer_proc -> iperf_reset_stats.
  omitting_ = false;
  measure_from_ = loop_->Now();
  for (ByteBudget* budget : {send_budget_.get(), receive_budget_.get()}) {
    if (budget == nullptr) continue;
    budget->Reset();
    budget->set_active(true);
  }
  for (auto& stream : streams_) stream->ResetCounters();
  if (callbacks_.on_omit_over) callbacks_.on_omit_over();
}

void ClientSession::BudgetReached() {
  if (phase_ != Phase::kRunning) return;
  // From inside a stream's send or receive: end the test after it returns.
  std::weak_ptr<bool> alive = alive_;
  loop_->Defer([this, alive] {
    if (alive.lock() && phase_ == Phase::kRunning) EndTest();
  });
}

void ClientSession::EndTest() {
  if (phase_ != Phase::kRunning) return;
  phase_ = Phase::kWaitExchangeResults;
  ended_at_ = loop_->Now();
  CancelTimer(omit_timer_);
  CancelTimer(end_timer_);
  cpu_at_end_ = cpu_.Percent();
  if (callbacks_.on_test_end) {
    callbacks_.on_test_end();
    if (cancelled_) return;
  }
  // Senders stop at once; receivers go on reading what is in flight until
  // the server closes them (iperf3's client drains in reverse mode, so the
  // server is never stuck on a full socket while it waits for TEST_END).
  for (auto& stream : streams_) stream->StopSending();
  SendControl(std::string(1, static_cast<char>(State::kTestEnd)));
}

void ClientSession::OnStreamClosed(const absl::Status& why) {
  // After TEST_END the server closes its ends: expected.
  if (phase_ != Phase::kRunning && phase_ != Phase::kWaitTestRunning) return;
  Finish(absl::UnavailableError(
      absl::StrCat("the server went away during the test (", why.message(), ")")));
}

// ---------------------------------------------------------------------------
// Silence.

absl::Duration ClientSession::StallPeriod() const {
  return std::max(spec_.stall_timeout / 10, absl::Milliseconds(10));
}

uint64_t ClientSession::Progress() const {
  uint64_t total = control_bytes_in_;
  for (const auto& stream : streams_) total += stream->counters().total_bytes;
  return total;
}

void ClientSession::CheckStall() {
  stall_timer_ = 0;
  if (phase_ == Phase::kDone) return;
  const absl::Duration now = loop_->Now();
  const uint64_t progress = Progress();
  if (progress != last_progress_) {
    last_progress_ = progress;
    last_progress_at_ = now;
  } else if (now - last_progress_at_ >= spec_.stall_timeout) {
    Finish(StallStatus());
    return;
  }
  stall_timer_ = loop_->RunAfter(StallPeriod(), [this] { CheckStall(); });
}

absl::Status ClientSession::StallStatus() const {
  const std::string timeout = DurationText(spec_.stall_timeout);
  switch (phase_) {
    case Phase::kWaitParamExchange:
      if (control_bytes_in_ == 0) {
        return absl::DeadlineExceededError(
            absl::StrCat("the server accepted the connection but said nothing for ",
                         timeout, ": not an iperf3 server, or a stuck one"));
      }
      break;
    case Phase::kCreatingStreams:
      if (spec_.params.udp) {
        return absl::DeadlineExceededError(
            absl::StrCat("data stream ", NextStreamId(),
                         ": no reply to the UDP connect message within ", timeout,
                         " (a firewall on the way?)"));
      }
      return absl::DeadlineExceededError(
          absl::StrCat("data stream ", NextStreamId(),
                       ": the connect got no answer within ", timeout));
    case Phase::kRunning:
      return absl::DeadlineExceededError(
          absl::StrCat("no data moved for ", timeout,
                       ": the server stopped answering during the test"));
    default:
      break;
  }
  return absl::DeadlineExceededError(
      absl::StrCat("the server stopped answering for ", timeout, " ", PhaseText()));
}

// ---------------------------------------------------------------------------
// The end.

TestResults ClientSession::LocalResults() const {
  const TestParams& p = spec_.params;
  TestResults results;
  results.cpu_total = cpu_at_end_.total;
  results.cpu_user = cpu_at_end_.user;
  results.cpu_system = cpu_at_end_.system;
  // send_results: -1 when the client only received; else Linux has
  // TCP_INFO's retransmits (iperf3 says 1 for UDP too).
  results.sender_has_retransmits = (p.reverse && !p.bidirectional) ? -1 : 1;
  if (!p.udp) results.congestion_used = congestion_used_;
  const absl::Duration end = phase_ == Phase::kRunning ? loop_->Now() : ended_at_;
  const double seconds = absl::ToDoubleSeconds(end - measure_from_);
  for (const auto& stream : streams_) {
    StreamResult s;
    s.id = stream->id();
    s.bytes = stream->counters().bytes;
    if (stream->sender() && !stream->udp()) {
      s.retransmits = stream->Retransmits().value_or(-1);
    }
    if (stream->udp()) {
      if (stream->sender()) {
        s.packets = static_cast<int64_t>(stream->counters().next_sequence - 1);
      } else {
        // send_results: iperf3's whole counters; the peer subtracts the
        // omitted part when it reports.
        s.packets = static_cast<int64_t>(stream->udp_stats().packet_count());
        s.errors = stream->udp_stats().errors();
        s.jitter_seconds = stream->udp_stats().jitter_seconds();
      }
    }
    s.start_time = 0;
    s.end_time = seconds;
    results.streams.push_back(s);
  }
  return results;
}

void ClientSession::Finish(absl::Status status) {
  if (phase_ == Phase::kDone) return;
  if (phase_ == Phase::kRunning) {
    ended_at_ = loop_->Now();
    cpu_at_end_ = cpu_.Percent();
  }
  Outcome outcome;
  outcome.status = std::move(status);
  outcome.ran = ran_;
  if (ran_) {
    outcome.local = sent_results_ ? *sent_results_ : LocalResults();
    outcome.measured = ended_at_ - measure_from_;
  }
  outcome.remote = std::move(remote_);
  CloseAll();
  phase_ = Phase::kDone;
  // on_done may destroy the session: it runs after the current callback.
  std::weak_ptr<bool> alive = alive_;
  loop_->Defer([this, alive, outcome = std::move(outcome)]() mutable {
    if (!alive.lock() || cancelled_) return;
    auto on_done = std::move(callbacks_.on_done);
    if (on_done) on_done(std::move(outcome));
  });
}

void ClientSession::CancelTimer(EventLoop::TimerId& id) {
  if (id != 0) loop_->Cancel(std::exchange(id, 0));
}

void ClientSession::CloseAll() {
  CancelTimer(phase_timer_);
  CancelTimer(omit_timer_);
  CancelTimer(end_timer_);
  CancelTimer(stall_timer_);
  if (pending_) {
    loop_->Unwatch(pending_->fd.get());
    pending_.reset();
  }
  for (auto& stream : streams_) stream->Close();
  if (control_watched_) loop_->Unwatch(control_.get());
  control_watched_ = false;
  control_.reset();
}

}  // namespace netprobe::iperf3
