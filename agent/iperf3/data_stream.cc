#include "agent/iperf3/data_stream.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "agent/iperf3/wire.h"
#include "common/posix_error.h"

namespace netprobe::iperf3 {
namespace {

// Where reads land: one buffer per stream, reused. TCP reads take what the
// socket has up to this much (fewer calls than iperf3's block-sized reads);
// UDP needs room for the largest datagram.
constexpr size_t kTcpReadSize = 256 * 1024;
constexpr size_t kUdpReadSize = 65536;

}  // namespace

void ByteBudget::Count(uint64_t n) {
  if (!active_) return;
  used_ += n;
  if (used_ >= limit_ && !fired_) {
    fired_ = true;
    if (on_reached_) on_reached_();
  }
}

void ByteBudget::Reset() {
  used_ = 0;
  fired_ = false;
}

DataStream::DataStream(EventLoop* loop, UniqueFd fd, const Options& options,
                       ClosedCallback on_closed)
    : loop_(loop),
      fd_(std::move(fd)),
      options_(options),
      on_closed_(std::move(on_closed)) {
  if (options_.sender) {
    // iperf3 sends random bytes (compression on the path would flatter
    // zeros); drawn once, the block is then sent over and over.
    buffer_.resize(std::max<size_t>(options_.length, 1));
    std::minstd_rand random(std::random_device{}());
    for (uint8_t& b : buffer_) b = static_cast<uint8_t>(random());
  } else {
    buffer_.resize(options_.udp ? kUdpReadSize : kTcpReadSize);
  }
}

DataStream::~DataStream() { Close(); }

absl::Status DataStream::Start() {
  if (!fd_.valid()) return absl::FailedPreconditionError("data stream closed");
  start_ = loop_->Now();
  retransmits_base_ = TotalRetransmits().value_or(0);
  sending_ = options_.sender;
  // Senders watch EPOLLIN too: the peer's FIN or RST shows there.
  const uint32_t events = EPOLLIN | (sending_ ? uint32_t{EPOLLOUT} : 0u);
  NETPROBE_RETURN_IF_ERROR(
      loop_->Watch(fd_.get(), events, [this](uint32_t ev) { OnEvents(ev); }));
  watched_ = true;
  writing_ = sending_;
  return absl::OkStatus();
}

void DataStream::StopSending() {
  sending_ = false;
  if (timer_ != 0) loop_->Cancel(std::exchange(timer_, 0));
  WantWrite(false);
}

void DataStream::Close() {
  sending_ = false;
  if (timer_ != 0) loop_->Cancel(std::exchange(timer_, 0));
  if (watched_) loop_->Unwatch(fd_.get());
  watched_ = false;
  fd_.reset();
}

void DataStream::Abort() {
  if (fd_.valid() && !options_.udp) {
    const linger reset{1, 0};
    // Best effort: the close below happens either way.
    (void)setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  }
  Close();
}

void DataStream::ResetCounters() {
  counters_.bytes = 0;
  counters_.datagrams = 0;
  counters_.not_sent = 0;
  udp_stats_.Reset();
  retransmits_base_ = TotalRetransmits().value_or(retransmits_base_);
  // A sender that stopped on a budget spent during the omitted seconds goes
  // on: the budget starts over too.
  if (sending_ && watched_ && timer_ == 0) WantWrite(true);
}

std::optional<int64_t> DataStream::TotalRetransmits() const {
  if (options_.udp || !fd_.valid()) return std::nullopt;
  tcp_info info{};
  socklen_t length = sizeof(info);
  if (getsockopt(fd_.get(), IPPROTO_TCP, TCP_INFO, &info, &length) != 0)
    return std::nullopt;
  return info.tcpi_total_retrans;
}

std::optional<int64_t> DataStream::Retransmits() const {
  std::optional<int64_t> total = TotalRetransmits();
  if (!total) return std::nullopt;
  return *total - retransmits_base_;
}

void DataStream::OnEvents(uint32_t events) {
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
    if (options_.sender) {
      DrainSenderSocket();
    } else {
      Receive();
    }
    if (!watched_) return;  // ended or closed meanwhile
  }
  if (events & EPOLLOUT) Send();
}

void DataStream::WantWrite(bool want) {
  if (!watched_ || want == writing_) return;
  // Modify fails only for an fd the loop does not know: not ours.
  if (loop_->Modify(fd_.get(), EPOLLIN | (want ? uint32_t{EPOLLOUT} : 0u)).ok())
    writing_ = want;
}

void DataStream::ArmTimer(absl::Duration deadline) {
  WantWrite(false);
  if (timer_ != 0) return;
  timer_ = loop_->RunAt(deadline, [this] {
    timer_ = 0;
    if (sending_ && watched_) {
      WantWrite(true);
      Send();
    }
  });
}

bool DataStream::Paced(absl::Duration now) {
  // The first block goes at once (iperf3's green light starts on).
  if (options_.bitrate == 0 || paced_bytes_ == 0) return true;
  // Average since Start(), as iperf3's iperf_check_throttle: the next bytes
  // may go while the bits sent so far are below bitrate * elapsed.
  const double elapsed = absl::ToDoubleSeconds(now - start_);
  const double bits = static_cast<double>(paced_bytes_) * 8;
  if (bits < static_cast<double>(options_.bitrate) * elapsed) return true;
  // When the bits sent so far are due, plus the shortest sleep.
  const absl::Duration due =
      start_ + absl::Seconds(bits / static_cast<double>(options_.bitrate));
  ArmTimer(std::max(due, now + kPacingInterval));
  return false;
}

void DataStream::Send() {
  if (!sending_ || !watched_) {
    WantWrite(false);
    return;
  }
  const absl::Duration now = loop_->Now();
  if (options_.udp) {
    SendUdp(now);
  } else {
    SendTcp(now);
  }
}

void DataStream::SendTcp(absl::Duration now) {
  size_t done = 0;
  while (done < kMaxBytesPerWakeup) {
    size_t size = buffer_.size();
    if (options_.budget != nullptr) {
      size = static_cast<size_t>(std::min<uint64_t>(size, options_.budget->available()));
      if (size == 0) {
        WantWrite(false);  // spent; ResetCounters() may start it again
        return;
      }
    }
    if (!Paced(now)) return;
    const ssize_t n = send(fd_.get(), buffer_.data(), size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        WantWrite(true);
        return;
      }
      Fail(PosixError(absl::StrCat("data stream ", options_.id, ": send"), errno));
      return;
    }
    const size_t sent = static_cast<size_t>(n);
    done += sent;
    paced_bytes_ += sent;
    counters_.bytes += sent;
    counters_.total_bytes += sent;
    if (options_.budget != nullptr) {
      options_.budget->Count(sent);
      if (!watched_ || !sending_) return;  // the callback ended the test
    }
    // A short write: the socket buffer is full, and EPOLLOUT tells when
    // there is room (saves the send() that would fail with EAGAIN).
    if (sent < size) {
      WantWrite(true);
      return;
    }
  }
  WantWrite(true);  // more next round, after the other fds
}

void DataStream::SendUdp(absl::Duration now) {
  const size_t size = buffer_.size();
  const bool wide = options_.udp_counters_64bit;
  for (int i = 0; i < kMaxDatagramsPerWakeup; ++i) {
    if (options_.budget != nullptr && options_.budget->available() == 0) {
      WantWrite(false);
      return;
    }
    if (!Paced(now)) return;
    const absl::Time wall = loop_->clock()->Wall();
    const int64_t micros = absl::ToUnixMicros(wall);
    UdpHeader header;
    header.seconds = static_cast<uint32_t>(micros / 1000000);
    header.microseconds = static_cast<uint32_t>(micros % 1000000);
    header.sequence = counters_.next_sequence;
    EncodeUdpHeader(header, wide, absl::MakeSpan(buffer_));
    const ssize_t n = send(fd_.get(), buffer_.data(), size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        ++counters_.not_sent;
        ++not_sent_total_;
        WantWrite(true);
        return;
      }
      if (err == ENOBUFS) {
        // A full qdisc or device queue: EPOLLOUT does not wait for it.
        ++counters_.not_sent;
        ++not_sent_total_;
        ArmTimer(now + kPacingInterval);
        return;
      }
      if (err == ECONNREFUSED) {
        // An ICMP port unreachable for an earlier datagram: nobody there now.
        Fail(absl::UnavailableError(
            absl::StrCat("data stream ", options_.id,
                         ": the server's UDP port is closed (ECONNREFUSED)")));
        return;
      }
      Fail(PosixError(absl::StrCat("data stream ", options_.id, ": send"), err));
      return;
    }
    ++counters_.next_sequence;
    ++counters_.datagrams;
    paced_bytes_ += size;
    counters_.bytes += size;
    counters_.total_bytes += size;
    if (options_.budget != nullptr) {
      options_.budget->Count(size);
      if (!watched_ || !sending_) return;
    }
  }
  WantWrite(true);
}

void DataStream::Receive() {
  if (options_.udp) {
    ReceiveUdp(kMaxDatagramsPerWakeup);
  } else {
    ReceiveTcp(kMaxBytesPerWakeup);
  }
}

void DataStream::Drain() {
  if (options_.sender || !watched_) return;
  if (options_.udp) {
    ReceiveUdp(static_cast<int>(kMaxDrainBytes / kUdpReadSize));
  } else {
    ReceiveTcp(kMaxDrainBytes);
  }
}

void DataStream::ReceiveTcp(size_t max_bytes) {
  size_t done = 0;
  while (done < max_bytes) {
    const ssize_t n = recv(fd_.get(), buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      Fail(PosixError(absl::StrCat("data stream ", options_.id, ": recv"), errno));
      return;
    }
    if (n == 0) {
      Fail(absl::UnavailableError(
          absl::StrCat("data stream ", options_.id, ": the server closed it")));
      return;
    }
    const size_t got = static_cast<size_t>(n);
    done += got;
    counters_.bytes += got;
    counters_.total_bytes += got;
    if (options_.budget != nullptr) {
      options_.budget->Count(got);
      if (!watched_) return;
    }
    // Less than asked for: the socket is empty (saves the recv() that would
    // fail with EAGAIN; level-triggered epoll calls again if more came).
    if (got < buffer_.size()) return;
  }
}

void DataStream::ReceiveUdp(int max_datagrams) {
  const bool wide = options_.udp_counters_64bit;
  const size_t header_size = UdpHeaderSize(wide);
  for (int i = 0; i < max_datagrams; ++i) {
    const ssize_t n = recv(fd_.get(), buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (n < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == ECONNREFUSED) continue;  // an ICMP error for our connect message
      Fail(PosixError(absl::StrCat("data stream ", options_.id, ": recv"), err));
      return;
    }
    const size_t got = static_cast<size_t>(n);
    // Shorter than the header: a stray connect reply, not data.
    if (got < header_size) continue;
    const absl::Time arrival = loop_->clock()->Wall();
    std::optional<UdpHeader> header =
        DecodeUdpHeader(absl::MakeConstSpan(buffer_.data(), got), wide);
    if (!header) continue;
    udp_stats_.OnDatagram(*header, arrival);
    ++counters_.datagrams;
    counters_.bytes += got;
    counters_.total_bytes += got;
    if (options_.budget != nullptr) {
      options_.budget->Count(got);
      if (!watched_) return;
    }
  }
}

void DataStream::DrainSenderSocket() {
  // In iperf3's protocol nothing comes back on a data socket: read and drop
  // what does, to see the FIN (0) or the error behind it.
  char scratch[512];
  for (int i = 0; i < 16; ++i) {
    const ssize_t n = recv(fd_.get(), scratch, sizeof(scratch), MSG_DONTWAIT);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && options_.udp && errno == ECONNREFUSED) {
      Fail(absl::UnavailableError(
          absl::StrCat("data stream ", options_.id,
                       ": the server's UDP port is closed (ECONNREFUSED)")));
      return;
    }
    Fail(n == 0 ? absl::UnavailableError(
                      absl::StrCat("data stream ", options_.id, ": the server closed it"))
                : PosixError(absl::StrCat("data stream ", options_.id, ": recv"), errno));
    return;
  }
}

void DataStream::Fail(const absl::Status& why) {
  sending_ = false;
  if (timer_ != 0) loop_->Cancel(std::exchange(timer_, 0));
  if (watched_) loop_->Unwatch(fd_.get());
  watched_ = false;
  if (ended_) return;
  ended_ = true;
  if (on_closed_) on_closed_(why);
}

}  // namespace netprobe::iperf3
