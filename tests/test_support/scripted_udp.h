#ifndef NETPROBE_TESTS_TEST_SUPPORT_SCRIPTED_UDP_H_
#define NETPROBE_TESTS_TEST_SUPPORT_SCRIPTED_UDP_H_

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/net/multicast_receiver.h"
#include "agent/net/socket_opener.h"
#include "agent/net/udp_socket.h"
#include "agent/net/unique_fd.h"

namespace netprobe::testing {

// What a test scripts and sees of one fake UDP socket. Shared between the
// test and the socket the probe owns, so it outlives the socket: `open` says
// whether the probe still holds it.
struct ScriptedUdp {
  struct Sent {
    std::vector<uint8_t> data;
    std::optional<SocketAddress> to;
  };

  int family = AF_INET;
  bool open = true;
  int fd = -1;  // the eventfd while open
  // What the socket gives the probe, in order.
  std::deque<DatagramSocket::Received> datagrams;
  std::deque<ErrorQueueEntry> errors;
  // The errno of each send, in order; 0 once it runs out.
  std::deque<int> send_results;
  std::optional<SocketAddress> local;  // LocalAddress(); error when unset
  std::optional<uint32_t> kernel_drops;
  // What the probe sent (successful sends only, as the kernel would).
  std::vector<Sent> sent;

  // Queues a datagram from `from` with `payload`; the loop sees the fd
  // readable until the probe has read everything queued.
  void Deliver(const SocketAddress& from, std::string payload, ReceiveMeta meta = {}) {
    DatagramSocket::Received datagram;
    datagram.data.assign(payload.begin(), payload.end());
    datagram.bytes = payload.size();
    datagram.from = from;
    datagram.meta = std::move(meta);
    datagrams.push_back(std::move(datagram));
    Signal();
  }
  void QueueError(ErrorQueueEntry entry) {
    errors.push_back(std::move(entry));
    Signal();
  }
  // Keeps the eventfd readable exactly while something is queued.
  void Signal() {
    if (!open) return;
    uint64_t value = 0;
    (void)!read(fd, &value, sizeof(value));  // EAGAIN when already zero
    if (!datagrams.empty() || !errors.empty()) {
      value = 1;
      (void)!write(fd, &value, sizeof(value));
    }
  }
};

// A DatagramSocket (and MulticastReceiver) whose fd is an eventfd: the loop
// calls the probe when the test queued something, without a kernel socket.
class ScriptedUdpSocket final : public MulticastReceiver {
 public:
  explicit ScriptedUdpSocket(std::shared_ptr<ScriptedUdp> script)
      : script_(std::move(script)), fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    script_->fd = fd_.get();
    script_->open = true;
    script_->Signal();
  }
  ~ScriptedUdpSocket() override {
    script_->open = false;
    script_->fd = -1;
  }

  int fd() const override { return fd_.get(); }
  int family() const override { return script_->family; }
  absl::Status Connect(const SocketAddress&) override { return absl::OkStatus(); }
  absl::StatusOr<SocketAddress> LocalAddress() const override {
    if (!script_->local) return absl::FailedPreconditionError("getsockname: not bound");
    return *script_->local;
  }
  int Send(absl::Span<const uint8_t> data, const SocketAddress* to = nullptr) override {
    int err = 0;
    if (!script_->send_results.empty()) {
      err = script_->send_results.front();
      script_->send_results.pop_front();
    }
    if (err == 0) {
      script_->sent.push_back({std::vector<uint8_t>(data.begin(), data.end()),
                               to ? std::optional<SocketAddress>(*to) : std::nullopt});
    }
    return err;
  }
  int Receive(Received* out, size_t max_bytes = 65536) override {
    if (script_->datagrams.empty()) {
      script_->Signal();
      return EAGAIN;
    }
    *out = std::move(script_->datagrams.front());
    script_->datagrams.pop_front();
    if (out->data.size() > max_bytes) out->data.resize(max_bytes);
    script_->Signal();
    return 0;
  }
  bool ReadErrorQueue(ErrorQueueEntry* out) override {
    if (script_->errors.empty()) return false;
    *out = std::move(script_->errors.front());
    script_->errors.pop_front();
    script_->Signal();
    return true;
  }
  std::optional<uint32_t> KernelDrops() const override { return script_->kernel_drops; }

 private:
  const std::shared_ptr<ScriptedUdp> script_;
  UniqueFd fd_;
};

// A SocketOpener of scripted UDP sockets: each open hands out the next
// prepared script (a fresh one when none is left) and records how the probe
// asked for it, or fails with `fail_next` once.
class ScriptedUdpOpener final : public SocketOpener {
 public:
  enum class Kind { kUdp, kBroadcast, kMulticastReceiver, kMulticastSender };
  struct Opened {
    Kind kind = Kind::kUdp;
    std::shared_ptr<ScriptedUdp> script;
    int family = AF_INET;
    SocketSetup setup;
    std::optional<SocketAddress> group;   // receiver
    unsigned interface_index = 0;         // receiver, sender
    std::optional<SocketAddress> source;  // receiver
    int ttl = 0;                          // sender
    bool loopback = false;                // sender
  };

  // The script the next open hands out.
  std::shared_ptr<ScriptedUdp> Prepare(int family = AF_INET) {
    auto script = std::make_shared<ScriptedUdp>();
    script->family = family;
    prepared_.push_back(script);
    return script;
  }
  std::optional<absl::Status> fail_next;
  const std::vector<Opened>& opened() const { return opened_; }

  absl::StatusOr<std::unique_ptr<DatagramSocket>> OpenUdp(
      int family, const SocketSetup& setup) override {
    return Hand(Base(Kind::kUdp, family, setup));
  }
  absl::StatusOr<std::unique_ptr<DatagramSocket>> OpenBroadcastUdp(
      const SocketSetup& setup) override {
    return Hand(Base(Kind::kBroadcast, AF_INET, setup));
  }
  absl::StatusOr<std::unique_ptr<MulticastReceiver>> OpenMulticastReceiver(
      const SocketAddress& group, unsigned interface_index,
      const std::optional<SocketAddress>& source, const SocketSetup& setup) override {
    Opened o = Base(Kind::kMulticastReceiver, group.family(), setup);
    o.group = group;
    o.interface_index = interface_index;
    o.source = source;
    return Hand(std::move(o));
  }
  absl::StatusOr<std::unique_ptr<DatagramSocket>> OpenMulticastSender(
      int family, const SocketSetup& setup, unsigned interface_index, int ttl,
      bool loopback) override {
    Opened o = Base(Kind::kMulticastSender, family, setup);
    o.interface_index = interface_index;
    o.ttl = ttl;
    o.loopback = loopback;
    return Hand(std::move(o));
  }

 private:
  static Opened Base(Kind kind, int family, const SocketSetup& setup) {
    Opened o;
    o.kind = kind;
    o.family = family;
    o.setup = setup;
    return o;
  }
  absl::StatusOr<std::unique_ptr<ScriptedUdpSocket>> Hand(Opened o) {
    if (fail_next) {
      absl::Status status = *std::move(fail_next);
      fail_next.reset();
      return status;
    }
    if (prepared_.empty()) Prepare(o.family);
    o.script = prepared_.front();
    prepared_.pop_front();
    opened_.push_back(o);
    return std::make_unique<ScriptedUdpSocket>(o.script);
  }

  std::deque<std::shared_ptr<ScriptedUdp>> prepared_;
  std::vector<Opened> opened_;
};

}  // namespace netprobe::testing

#endif  // NETPROBE_TESTS_TEST_SUPPORT_SCRIPTED_UDP_H_
