#ifndef NETPROBE_TESTS_TEST_SUPPORT_FAKE_SOCKETS_H_
#define NETPROBE_TESTS_TEST_SUPPORT_FAKE_SOCKETS_H_

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "agent/net/socket_opener.h"
#include "agent/net/unique_fd.h"

namespace netprobe::testing {

// An eventfd that stands for a socket's readability, so a real EventLoop
// watches a fake socket like a real one.
class Readiness {
 public:
  Readiness() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  int fd() const { return fd_.get(); }
  void Set() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(fd_.get(), &one, sizeof(one));
  }
  void Clear() {
    uint64_t value;
    [[maybe_unused]] ssize_t n = read(fd_.get(), &value, sizeof(value));
  }

 private:
  UniqueFd fd_;
};

// What a fake socket was asked to send.
struct SentPacket {
  std::vector<uint8_t> bytes;
  SocketAddress to;  // invalid for a connected socket's send
  int ttl = -1;      // SendWithTtl's; -1 for Send()
};

// A scripted ICMP datagram socket. Each Send() asks `on_send` (when set) for
// the errno to return (0: sent); replies the test Deliver()s are read in
// order. No TX timestamps: RTTs run from the probe's own send time on the
// probe's clock to the delivered packet's kernel_time.
class FakeIcmpSocket final : public IcmpSocket {
 public:
  using OnSend = std::function<int(const SentPacket&)>;
  FakeIcmpSocket(int family, uint16_t id, Kind kind = Kind::kDatagram)
      : family_(family), id_(id), kind_(kind) {}

  int fd() const override { return ready_.fd(); }
  int family() const override { return family_; }
  // kRaw: Deliver() raw packets (IPv4: with the IP header), as a raw socket
  // reads them, errors from routers included.
  Kind kind() const override { return kind_; }
  uint16_t id() const override { return id_; }
  int Send(absl::Span<const uint8_t> message, const SocketAddress& to) override {
    SentPacket packet{std::vector<uint8_t>(message.begin(), message.end()), to};
    const int err = on_send ? on_send(packet) : 0;
    if (err == 0) sent.push_back(std::move(packet));
    return err;
  }
  int SendWithTtl(absl::Span<const uint8_t> message, const SocketAddress& to,
                  int ttl) override {
    SentPacket packet{std::vector<uint8_t>(message.begin(), message.end()), to, ttl};
    const int err = on_send ? on_send(packet) : 0;
    if (err == 0) sent.push_back(std::move(packet));
    return err;
  }
  bool Receive(Received* out) override {
    if (inbox_.empty()) {
      ready_.Clear();
      return false;
    }
    Incoming in = std::move(inbox_.front());
    inbox_.pop_front();
    current_ = std::move(in.bytes);
    out->data = absl::MakeConstSpan(current_);
    out->from = in.from;
    out->kernel_time = in.kernel_time;
    out->hop_limit = 64;
    out->kernel_drops = in.kernel_drops;
    return true;
  }
  size_t ReceiveBatch(absl::Span<Received> out) override {
    batch_.clear();  // what the last batch pointed into
    size_t n = 0;
    for (; n < out.size() && !inbox_.empty(); ++n) {
      Incoming& in = batch_.emplace_back(std::move(inbox_.front()));
      inbox_.pop_front();
      out[n].data = absl::MakeConstSpan(in.bytes);
      out[n].from = in.from;
      out[n].kernel_time = in.kernel_time;
      out[n].hop_limit = 64;
      out[n].kernel_drops = in.kernel_drops;
    }
    if (inbox_.empty()) ready_.Clear();
    return n;
  }
  bool ReadErrorQueue(ErrorEntry*) override { return false; }

  // A packet arrives: readable until read.
  // `kernel_drops`: the socket's SO_RXQ_OVFL count the packet carries.
  void Deliver(std::vector<uint8_t> bytes, SocketAddress from, absl::Time kernel_time,
               std::optional<uint32_t> kernel_drops = std::nullopt) {
    inbox_.push_back(Incoming{std::move(bytes), from, kernel_time, kernel_drops});
    ready_.Set();
  }

  OnSend on_send;
  std::vector<SentPacket> sent;

 private:
  struct Incoming {
    std::vector<uint8_t> bytes;
    SocketAddress from;
    absl::Time kernel_time;
    std::optional<uint32_t> kernel_drops;
  };
  Readiness ready_;
  const int family_;
  const uint16_t id_;
  const Kind kind_;
  std::deque<Incoming> inbox_;
  std::vector<uint8_t> current_;  // what the last Receive() points into
  std::deque<Incoming> batch_;    // what the last ReceiveBatch() points into
};

// A scripted UDP socket, like FakeIcmpSocket.
class FakeDatagramSocket final : public DatagramSocket {
 public:
  using OnSend = std::function<int(const SentPacket&)>;
  explicit FakeDatagramSocket(int family) : family_(family) {}

  int fd() const override { return ready_.fd(); }
  int family() const override { return family_; }
  absl::Status Connect(const SocketAddress& peer) override {
    peer_ = peer;
    return connect_status;
  }
  absl::StatusOr<SocketAddress> LocalAddress() const override {
    return *SocketAddress::FromLiteral(family_ == AF_INET6 ? "::1" : "127.0.0.1", 40000);
  }
  int Send(absl::Span<const uint8_t> data, const SocketAddress* to) override {
    SentPacket packet{std::vector<uint8_t>(data.begin(), data.end()),
                      to != nullptr ? *to : SocketAddress()};
    const int err = on_send ? on_send(packet) : 0;
    if (err == 0) sent.push_back(std::move(packet));
    return err;
  }
  int SendWithTtl(absl::Span<const uint8_t> data, int ttl,
                  const SocketAddress* to) override {
    SentPacket packet{std::vector<uint8_t>(data.begin(), data.end()),
                      to != nullptr ? *to : SocketAddress(), ttl};
    const int err = on_send ? on_send(packet) : 0;
    if (err == 0) sent.push_back(std::move(packet));
    return err;
  }
  int Receive(Received* out, size_t max_bytes) override {
    if (pending_error_ != 0) {  // as the kernel's sk_err: reported once
      const int err = pending_error_;
      pending_error_ = 0;
      return err;
    }
    if (inbox_.empty()) {
      ready_.Clear();
      return EAGAIN;
    }
    Incoming in = std::move(inbox_.front());
    inbox_.pop_front();
    out->bytes = in.bytes.size();
    in.bytes.resize(std::min(in.bytes.size(), max_bytes));
    out->data = std::move(in.bytes);
    out->from = peer_;
    out->meta = ReceiveMeta{};
    out->meta.kernel_time = in.kernel_time;
    return 0;
  }
  bool ReadErrorQueue(ErrorQueueEntry* out) override {
    if (errors_.empty()) return false;
    *out = std::move(errors_.front());
    errors_.pop_front();
    return true;
  }

  // An ICMP error queued as IP_RECVERR queues it: on the error queue, and
  // the socket's pending error (the next Receive() returns entry.err).
  void DeliverError(ErrorQueueEntry entry) {
    pending_error_ = entry.err != 0 ? entry.err : EHOSTUNREACH;
    errors_.push_back(std::move(entry));
    ready_.Set();
  }

  void Deliver(std::vector<uint8_t> bytes, absl::Time kernel_time) {
    inbox_.push_back(Incoming{std::move(bytes), kernel_time});
    ready_.Set();
  }

  OnSend on_send;
  absl::Status connect_status = absl::OkStatus();
  std::vector<SentPacket> sent;

 private:
  struct Incoming {
    std::vector<uint8_t> bytes;
    absl::Time kernel_time;
  };
  Readiness ready_;
  const int family_;
  SocketAddress peer_;
  std::deque<Incoming> inbox_;
  std::deque<ErrorQueueEntry> errors_;
  int pending_error_ = 0;
};

// A scripted SynSocket (traceroute -T): SYNs sent are recorded as
// (source port, sequence, TTL) and offered to `on_send`; the test delivers
// answers (Deliver) and ICMP errors (DeliverError, with the socket's pending
// error as IP_RECVERR sets it). Ports from ReservePort: 40000, 40001, ...
class FakeSynSocket final : public SynSocket {
 public:
  struct Syn {
    uint16_t source_port = 0;
    uint32_t sequence = 0;
    int ttl = 0;
  };
  using OnSend = std::function<int(const Syn&)>;
  explicit FakeSynSocket(int family) : family_(family) {}

  int fd() const override { return ready_.fd(); }
  int family() const override { return family_; }
  absl::StatusOr<uint16_t> ReservePort() override { return next_port_++; }
  int SendSyn(uint16_t source_port, uint32_t sequence, int ttl) override {
    const Syn syn{source_port, sequence, ttl};
    const int err = on_send ? on_send(syn) : 0;
    if (err == 0) sent.push_back(syn);
    return err;
  }
  int Receive(Received* out) override {
    if (pending_error_ != 0) {
      const int err = pending_error_;
      pending_error_ = 0;
      return err;
    }
    if (inbox_.empty()) {
      ready_.Clear();
      return EAGAIN;
    }
    *out = inbox_.front();
    inbox_.pop_front();
    return 0;
  }
  bool ReadErrorQueue(ErrorQueueEntry* out) override {
    if (errors_.empty()) return false;
    *out = std::move(errors_.front());
    errors_.pop_front();
    return true;
  }

  void Deliver(Received segment) {
    inbox_.push_back(std::move(segment));
    ready_.Set();
  }
  void DeliverError(ErrorQueueEntry entry) {
    pending_error_ = entry.err != 0 ? entry.err : EHOSTUNREACH;
    errors_.push_back(std::move(entry));
    ready_.Set();
  }

  OnSend on_send;
  std::vector<Syn> sent;

 private:
  Readiness ready_;
  const int family_;
  uint16_t next_port_ = 40000;
  std::deque<Received> inbox_;
  std::deque<ErrorQueueEntry> errors_;
  int pending_error_ = 0;
};

// Hands probes fake sockets and lets the test reach them. Open errors can be
// scripted (e.g. FAILED_PRECONDITION for a missing CAP_NET_RAW).
class FakeSocketOpener final : public SocketOpener {
 public:
  absl::StatusOr<std::unique_ptr<IcmpSocket>> OpenIcmp(int family, uint16_t raw_id,
                                                       const SocketSetup&) override {
    if (!open_status.ok()) return open_status;
    auto socket = std::make_unique<FakeIcmpSocket>(family, raw_id, icmp_kind);
    socket->on_send = on_icmp_send;
    icmp.push_back(socket.get());
    return socket;
  }
  absl::StatusOr<std::unique_ptr<DatagramSocket>> OpenUdp(int family,
                                                          const SocketSetup&) override {
    if (!open_status.ok()) return open_status;
    auto socket = std::make_unique<FakeDatagramSocket>(family);
    socket->on_send = on_udp_send;
    udp.push_back(socket.get());
    return socket;
  }

  absl::StatusOr<std::unique_ptr<SynSocket>> OpenRawTcp(const SocketAddress& target,
                                                        const SocketSetup&) override {
    if (!open_status.ok()) return open_status;
    auto socket = std::make_unique<FakeSynSocket>(target.family());
    socket->on_send = on_syn_send;
    syn.push_back(socket.get());
    return socket;
  }

  // A probe's capture (ProbeCapture): the test's handle, when it gives one.
  absl::StatusOr<std::unique_ptr<PcapHandle>> OpenPcap(
      const PcapHandle::Options& options) override {
    if (!open_pcap) return absl::UnimplementedError("no pcap in this test");
    return open_pcap(options);
  }

  absl::Status open_status = absl::OkStatus();
  std::function<absl::StatusOr<std::unique_ptr<PcapHandle>>(const PcapHandle::Options&)>
      open_pcap;
  IcmpSocket::Kind icmp_kind = IcmpSocket::Kind::kDatagram;
  FakeIcmpSocket::OnSend on_icmp_send;
  FakeDatagramSocket::OnSend on_udp_send;
  FakeSynSocket::OnSend on_syn_send;
  // Every socket opened, in order; owned by the probe (valid while it runs).
  std::vector<FakeIcmpSocket*> icmp;
  std::vector<FakeDatagramSocket*> udp;
  std::vector<FakeSynSocket*> syn;
};

}  // namespace netprobe::testing

#endif  // NETPROBE_TESTS_TEST_SUPPORT_FAKE_SOCKETS_H_
