#ifndef NETPROBE_AGENT_RESPONDERS_UDP_ECHO_RESPONDER_H_
#define NETPROBE_AGENT_RESPONDERS_UDP_ECHO_RESPONDER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/net/event_loop.h"
#include "agent/net/socket_address.h"
#include "agent/net/unique_fd.h"
#include "netprobe/v1/agent.pb.h"

namespace netprobe {

// Where a responder listens: "PORT" (every address, IPv4 and IPv6), or
// "ADDR:PORT" / "[V6]:PORT". Port 0 lets the kernel choose. The error names
// `field` ("--udp-echo").
absl::StatusOr<SocketAddress> ParseUdpEchoAddress(absl::string_view text,
                                                  absl::string_view field);

// A UDP echo responder (RFC 862) on the agent's event loop: every datagram
// goes back to its sender as is, from the address it was sent to, so agents
// can probe each other and plain echo clients work. Datagrams from source
// ports below 1024 are ignored (counted): those are where echo, chargen and
// the like live, and answering them could start a loop between responders.
// Reads and answers in batches (recvmmsg/sendmmsg); a datagram whose answer
// cannot be sent (full send buffer) is counted, never retried.
// Loop thread only, except Describe() which any thread may call.
class UdpEchoResponder {
 public:
  // Binds `address` (for "[::]" dual-stack, falling back to 0.0.0.0 when the
  // host has no IPv6) and starts answering on `loop`.
  static absl::StatusOr<std::unique_ptr<UdpEchoResponder>> Start(
      EventLoop* loop, const SocketAddress& address);
  ~UdpEchoResponder();

  // The bound address (with the port the kernel chose for port 0).
  const SocketAddress& bound() const { return bound_; }
  void Describe(v1::UdpEchoResponder* out) const;

 private:
  UdpEchoResponder(EventLoop* loop, UniqueFd fd, SocketAddress bound)
      : loop_(loop), fd_(std::move(fd)), bound_(bound) {}
  void OnReadable();

  EventLoop* const loop_;
  UniqueFd fd_;
  const SocketAddress bound_;
  std::atomic<uint64_t> received_{0}, echoed_{0}, send_failed_{0}, ignored_privileged_{0},
      kernel_drops_{0};
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_RESPONDERS_UDP_ECHO_RESPONDER_H_
