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
// nanosecond timestamps and a selectable fd for the event loop. Not
// thread-safe.
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
  static absl::StatusOr<PcapHandle> Open(const Options& options);

  // A compiled BPF program (owns its instructions).
  class Filter {
   public:
    Filter(Filter&& other) noexcept : program_(other.program_) { other.program_ = {}; }
    Filter& operator=(Filter&&) = delete;
    ~Filter() { pcap_freecode(&program_); }
    const bpf_program* program() const { return &program_; }

   private:
    friend class PcapHandle;
    Filter() = default;
    bpf_program program_{};
  };
  // Compiles a tcpdump-syntax filter for this handle (its link type, and the
  // kernel's VLAN handling, which a pcap_open_dead handle would not know);
  // INVALID_ARGUMENT with libpcap's message alone when it does not compile. May
  // block: host names in the filter are resolved, so call it off the loop,
  // while no other thread uses the handle.
  absl::StatusOr<Filter> Compile(const std::string& filter);
  // Packets already in the ring when it is installed are filtered by libpcap
  // in user space, so none that fail the filter are ever handed out.
  absl::Status Install(const Filter& filter);

  int fd() const;
  int link_type() const;
  std::string link_type_name() const;
  int snaplen() const;

  struct Frame {
    int64_t seconds = 0;  // since the Unix epoch
    uint32_t nanos = 0;
    uint32_t original_length = 0;
    absl::Span<const uint8_t> data;  // valid during the callback only
  };
  // Hands up to `max` queued packets to `each`; returns how many, 0 when
  // none are queued, or an error.
  absl::StatusOr<int> Dispatch(int max, const std::function<void(const Frame&)>& each);

  struct Stats {
    uint64_t received = 0, kernel_dropped = 0, interface_dropped = 0;
  };
  absl::StatusOr<Stats> ReadStats();

 private:
  struct Closer {
    void operator()(pcap_t* p) const { pcap_close(p); }
  };
  PcapHandle(pcap_t* pcap, std::string interface)
      : pcap_(pcap), interface_(std::move(interface)) {}
  std::unique_ptr<pcap_t, Closer> pcap_;
  std::string interface_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_PCAP_HANDLE_H_
