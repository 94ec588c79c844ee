#ifndef NETPROBE_AGENT_IPERF3_DATA_STREAM_H_
#define NETPROBE_AGENT_IPERF3_DATA_STREAM_H_

// One iperf3 data stream: a connected, non-blocking TCP or UDP socket on the
// event loop that sends blocks (TCP) or datagrams with the UdpHeader (UDP),
// or receives and counts them. Used by both ends (ClientSession, the server).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/iperf3/udp_receive_stats.h"
#include "agent/net/event_loop.h"
#include "agent/net/unique_fd.h"

namespace netprobe::iperf3 {

// iperf3's -n: the bytes a test is to move, shared by its streams. Senders
// take from it before they write, so together they send exactly `limit`;
// receivers count into it. `on_reached` runs once when the count reaches the
// limit (again after Reset()). It must not destroy the streams. Not
// thread-safe: owned by one loop.
class ByteBudget {
 public:
  ByteBudget(uint64_t limit, std::function<void()> on_reached)
      : limit_(limit), on_reached_(std::move(on_reached)) {}
  // How many bytes may still be sent (no limit while inactive).
  uint64_t available() const {
    if (!active_) return UINT64_MAX;
    return used_ >= limit_ ? 0 : limit_ - used_;
  }
  // Counts `n` bytes sent or received (nothing while inactive).
  void Count(uint64_t n);
  bool reached() const { return active_ && used_ >= limit_; }
  // Inactive during the omitted seconds: iperf3's senders do not stop at
  // the limit then (its bytes_sent starts over when they end).
  void set_active(bool active) { active_ = active; }
  // The end of the omitted seconds: counting starts over.
  void Reset();

 private:
  uint64_t limit_;
  uint64_t used_ = 0;
  bool active_ = true;
  bool fired_ = false;
  std::function<void()> on_reached_;
};

class DataStream {
 public:
  struct Options {
    int id = 0;  // iperf3's stream id (1, 3, 4, ...)
    bool sender = false;
    bool udp = false;
    // Bytes per write (TCP) or per datagram (UDP, header included).
    size_t length = 128 * 1024;
    // Bits per second the sender averages at most, like iperf3's -b (the
    // average since Start(), checked at least every kPacingInterval); 0:
    // as fast as the socket takes them.
    uint64_t bitrate = 0;
    bool udp_counters_64bit = false;
    ByteBudget* budget = nullptr;  // -n; not owned, outlives the stream
  };

  // Since the last ResetCounters() (bytes, datagrams, not_sent) or since
  // Start() (the rest).
  struct Counters {
    uint64_t bytes = 0;      // sent (taken by the kernel) or received
    uint64_t datagrams = 0;  // UDP: sent or received
    // UDP sender: datagrams the kernel refused (EAGAIN, ENOBUFS); they were
    // not sent, and their sequence numbers went to the next datagrams.
    uint64_t not_sent = 0;
    uint64_t total_bytes = 0;    // since Start()
    uint64_t next_sequence = 1;  // UDP sender: the next datagram's sequence
  };

  // Called once when the socket ends by itself: the peer closed it (EOF) or
  // an error. The socket is unwatched then (still open for TCP_INFO until
  // Close()). The callback may Close() the stream, but must not destroy it.
  using ClosedCallback = std::function<void(const absl::Status& why)>;

  // `fd`: connected, non-blocking. Nothing happens until Start().
  DataStream(EventLoop* loop, UniqueFd fd, const Options& options,
             ClosedCallback on_closed);
  ~DataStream();
  DataStream(const DataStream&) = delete;
  DataStream& operator=(const DataStream&) = delete;

  // Starts sending or receiving; the pacing clock starts now. A receiver
  // may Start() early (data arriving before the test clock starts is
  // counted: iperf3's server does the same).
  absl::Status Start();
  // Sender: no more writes from now on (TEST_END); the socket stays open
  // and still reports the peer's close. A no-op for receivers.
  void StopSending();
  // Receiver: reads what the socket holds now, past the per-wakeup bound
  // (at most kMaxDrainBytes): at the result exchange, after the sender
  // closed its end, what arrived is all counted.
  void Drain();
  static constexpr size_t kMaxDrainBytes = 64 << 20;
  // Unwatches, cancels timers and closes the socket, at once. Idempotent.
  void Close();
  // Close(), and what the kernel still holds to send is dropped: a TCP
  // socket ends with RST (SO_LINGER 0), so nothing more goes on the wire
  // (a cancelled test stops at once, not after its send buffer drained).
  void Abort();
  // The end of the omitted seconds: bytes, datagrams and the UDP receive
  // statistics start over (UDP sequence numbers go on).
  void ResetCounters();

  int id() const { return options_.id; }
  bool sender() const { return options_.sender; }
  bool udp() const { return options_.udp; }
  int fd() const { return fd_.get(); }
  bool closed() const { return !fd_.valid(); }
  const Counters& counters() const { return counters_; }
  // UDP sender: the sends the kernel refused since Start() (each datagram
  // waited and went later; not_sent starts over at ResetCounters()).
  uint64_t not_sent_total() const { return not_sent_total_; }
  // UDP receiver: iperf3's loss, out-of-order and jitter since ResetCounters().
  const UdpReceiveStats& udp_stats() const { return udp_stats_; }
  // TCP: tcpi_total_retrans since ResetCounters() (or Start()); nullopt
  // when TCP_INFO is unreadable or for UDP.
  std::optional<int64_t> Retransmits() const;

  // At most this much work per wakeup, so the other probes on the loop are
  // served between them; the level-triggered loop calls again.
  static constexpr size_t kMaxBytesPerWakeup = 4 << 20;
  static constexpr int kMaxDatagramsPerWakeup = 64;
  // The pacing timer's shortest sleep (iperf3's default pacing timer), and
  // the back-off after ENOBUFS, which no EPOLLOUT ends.
  static constexpr absl::Duration kPacingInterval = absl::Milliseconds(1);

 private:
  void OnEvents(uint32_t events);
  void Send();
  void SendTcp(absl::Duration now);
  void SendUdp(absl::Duration now);
  // Whether the bitrate lets more bytes go now; otherwise arms the pacing
  // timer.
  bool Paced(absl::Duration now);
  void Receive();
  // Each reads at most `max_bytes` (TCP) or kMaxDatagramsPerWakeup (UDP).
  void ReceiveTcp(size_t max_bytes);
  void ReceiveUdp(int max_datagrams);
  // Reads what a sender's socket gets (nothing but the peer's FIN or an
  // error, in iperf3's protocol).
  void DrainSenderSocket();
  void WantWrite(bool want);
  void ArmTimer(absl::Duration deadline);
  // Unwatches and reports `why` once.
  void Fail(const absl::Status& why);
  std::optional<int64_t> TotalRetransmits() const;

  EventLoop* const loop_;
  UniqueFd fd_;
  const Options options_;
  ClosedCallback on_closed_;

  bool watched_ = false;
  bool writing_ = false;  // EPOLLOUT in the watched events
  bool sending_ = false;
  bool ended_ = false;  // EOF or error reported
  EventLoop::TimerId timer_ = 0;
  absl::Duration start_;
  uint64_t paced_bytes_ = 0;  // sent since Start(), for the bitrate
  int64_t retransmits_base_ = 0;

  Counters counters_;
  uint64_t not_sent_total_ = 0;
  UdpReceiveStats udp_stats_;
  std::vector<uint8_t> buffer_;  // the block sent, or where reads land
};

}  // namespace netprobe::iperf3

#endif  // NETPROBE_AGENT_IPERF3_DATA_STREAM_H_
