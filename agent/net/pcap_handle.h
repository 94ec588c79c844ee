#ifndef NETPROBE_AGENT_NET_PCAP_HANDLE_H_
#define NETPROBE_AGENT_NET_PCAP_HANDLE_H_

#include <pcap/pcap.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace netprobe {

// One live libpcap capture: pcap_create + pcap_activate, non-blocking, with
// nanosecond timestamps and a selectable fd for the event loop. An interface
// (SocketOpener::OpenPcap hands out the libpcap one, or a fake for unit
// tests). Not thread-safe.
class PcapHandle {
 public:
  struct Options {
    std::string interface;  // a name, or "any"
    int snaplen = 262144;
    bool promiscuous = false;
    // Kernel ring; bursts beyond it are the kernel's drops (ps_drop).
    int buffer_bytes = 16 << 20;
    // How long the kernel may hold packets before waking us: batches packets
    // at high rates, bounds the latency at low ones.
    absl::Duration buffer_timeout = absl::Milliseconds(10);
  };
  // NOT_FOUND for an unknown interface, FAILED_PRECONDITION naming
  // CAP_NET_RAW without it, else libpcap's message.
  static absl::StatusOr<std::unique_ptr<PcapHandle>> Open(const Options& options);

  virtual ~PcapHandle() = default;

  // A compiled BPF program (owns its instructions). Default-constructed it
  // holds none (what fakes hand out).
  class Filter {
   public:
    Filter() = default;
    Filter(Filter&& other) noexcept : program_(other.program_) { other.program_ = {}; }
    Filter& operator=(Filter&&) = delete;
    ~Filter() { pcap_freecode(&program_); }
    const bpf_program* program() const { return &program_; }
    bpf_program* mutable_program() { return &program_; }

   private:
    bpf_program program_{};
  };
  // Compiles a tcpdump-syntax filter for this handle (its link type, and the
  // kernel's VLAN handling, which a pcap_open_dead handle would not know);
  // INVALID_ARGUMENT with libpcap's message alone when it does not compile. May
  // block: host names in the filter are resolved, so call it off the loop,
  // while no other thread uses the handle.
  virtual absl::StatusOr<Filter> Compile(const std::string& filter) = 0;
  // Packets already in the ring when it is installed are filtered by libpcap
  // in user space, so none that fail the filter are ever handed out.
  virtual absl::Status Install(const Filter& filter) = 0;

  // Readable (EPOLLIN) when packets are queued.
  virtual int fd() const = 0;
  virtual int link_type() const = 0;
  virtual std::string link_type_name() const = 0;
  virtual int snaplen() const = 0;

  struct Frame {
    int64_t seconds = 0;  // since the Unix epoch
    uint32_t nanos = 0;
    uint32_t original_length = 0;
    absl::Span<const uint8_t> data;  // valid during the callback only
  };
  // Hands up to `max` queued packets to `each`; returns how many, 0 when
  // none are queued, or an error.
  virtual absl::StatusOr<int> Dispatch(int max,
                                       const std::function<void(const Frame&)>& each) = 0;

  struct Stats {
    uint64_t received = 0, kernel_dropped = 0, interface_dropped = 0;
  };
  virtual absl::StatusOr<Stats> ReadStats() = 0;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_PCAP_HANDLE_H_
