#include "agent/net/pcap_handle.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace netprobe {
namespace {

absl::Status ActivationError(pcap_t* pcap, int code, const std::string& interface) {
  const std::string detail = pcap_geterr(pcap);
  switch (code) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return absl::NotFoundError(
          absl::StrCat("interface: no interface '", interface, "' on this host"));
    // A missing capability is the agent's state, not the caller's rights:
    // FAILED_PRECONDITION, as everywhere a probe needs one.
    case PCAP_ERROR_PERM_DENIED:
      return absl::FailedPreconditionError(
          absl::StrCat("capture on '", interface,
                       "' needs CAP_NET_RAW, which the agent lacks (", detail, ")"));
    case PCAP_ERROR_IFACE_NOT_UP:
      return absl::FailedPreconditionError(
          absl::StrCat("interface: '", interface, "' is down"));
    case PCAP_ERROR_RFMON_NOTSUP:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return absl::FailedPreconditionError(
          absl::StrCat("promiscuous mode on '", interface, "' is not allowed: ", detail));
    default:
      return absl::InternalError(absl::StrCat(
          "capture on '", interface, "': ", pcap_statustostr(code), ": ", detail));
  }
}

// "any" offers Linux cooked v1 and v2; v2 carries the interface index of
// each packet, so a reader can say which interface it crossed (as tcpdump
// -i any does). Keeps v1 when v2 is not offered.
void PreferCookedV2(pcap_t* pcap) {
  int* links = nullptr;
  const int n = pcap_list_datalinks(pcap, &links);
  bool offered = false;
  for (int i = 0; i < n; ++i) offered |= links[i] == DLT_LINUX_SLL2;
  if (n > 0) pcap_free_datalinks(links);
  if (offered) pcap_set_datalink(pcap, DLT_LINUX_SLL2);
}

// The libpcap capture PcapHandle::Open hands out.
class LivePcap final : public PcapHandle {
 public:
  LivePcap(pcap_t* pcap, std::string interface)
      : pcap_(pcap), interface_(std::move(interface)) {}

  absl::StatusOr<Filter> Compile(const std::string& filter) override;
  absl::Status Install(const Filter& filter) override;
  int fd() const override { return pcap_get_selectable_fd(pcap_.get()); }
  int link_type() const override { return pcap_datalink(pcap_.get()); }
  std::string link_type_name() const override;
  int snaplen() const override { return pcap_snapshot(pcap_.get()); }
  absl::StatusOr<int> Dispatch(int max,
                               const std::function<void(const Frame&)>& each) override;
  absl::StatusOr<Stats> ReadStats() override;

 private:
  struct Closer {
    void operator()(pcap_t* p) const { pcap_close(p); }
  };
  std::unique_ptr<pcap_t, Closer> pcap_;
  std::string interface_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PcapHandle>> PcapHandle::Open(const Options& options) {
  char error[PCAP_ERRBUF_SIZE] = "";
  pcap_t* raw = pcap_create(options.interface.c_str(), error);
  if (raw == nullptr) {
    return absl::InternalError(
        absl::StrCat("pcap_create(", options.interface, "): ", error));
  }
  auto handle = std::make_unique<LivePcap>(raw, options.interface);
  pcap_set_snaplen(raw, options.snaplen);
  pcap_set_promisc(raw, options.promiscuous ? 1 : 0);
  pcap_set_buffer_size(raw, options.buffer_bytes);
  pcap_set_timeout(raw,
                   static_cast<int>(absl::ToInt64Milliseconds(options.buffer_timeout)));
  pcap_set_tstamp_precision(raw, PCAP_TSTAMP_PRECISION_NANO);
  const int activated = pcap_activate(raw);
  // Warnings (> 0) leave a working handle; errors (< 0) do not.
  if (activated < 0) return ActivationError(raw, activated, options.interface);
  if (options.interface == "any") PreferCookedV2(raw);
  if (pcap_setnonblock(raw, 1, error) != 0) {
    return absl::InternalError(absl::StrCat("pcap_setnonblock: ", error));
  }
  if (pcap_get_selectable_fd(raw) < 0) {
    return absl::InternalError(
        absl::StrCat("capture on '", options.interface, "' has no selectable fd"));
  }
  return handle;
}

absl::StatusOr<PcapHandle::Filter> LivePcap::Compile(const std::string& filter) {
  // The netmask only matters to "ip broadcast"; "any" has none.
  bpf_u_int32 net = 0, mask = PCAP_NETMASK_UNKNOWN;
  char error[PCAP_ERRBUF_SIZE] = "";
  if (interface_ != "any" &&
      pcap_lookupnet(interface_.c_str(), &net, &mask, error) != 0) {
    mask = PCAP_NETMASK_UNKNOWN;
  }
  Filter out;
  if (pcap_compile(pcap_.get(), out.mutable_program(), filter.c_str(), /*optimize=*/1,
                   mask) != 0) {
    return absl::InvalidArgumentError(pcap_geterr(pcap_.get()));
  }
  return out;
}

absl::Status LivePcap::Install(const Filter& filter) {
  if (pcap_setfilter(pcap_.get(), const_cast<bpf_program*>(filter.program())) != 0) {
    return absl::InternalError(
        absl::StrCat("pcap_setfilter: ", pcap_geterr(pcap_.get())));
  }
  return absl::OkStatus();
}

std::string LivePcap::link_type_name() const {
  const char* name = pcap_datalink_val_to_name(link_type());
  return name ? name : absl::StrCat("DLT_", link_type());
}

absl::StatusOr<int> LivePcap::Dispatch(int max,
                                       const std::function<void(const Frame&)>& each) {
  struct Context {
    const std::function<void(const Frame&)>* each;
  } context{&each};
  const int n = pcap_dispatch(
      pcap_.get(), max,
      [](u_char* user, const pcap_pkthdr* header, const u_char* bytes) {
        const auto* ctx = reinterpret_cast<const Context*>(user);
        Frame frame;
        // Nanosecond precision was asked for: tv_usec holds nanoseconds.
        frame.seconds = header->ts.tv_sec;
        frame.nanos = static_cast<uint32_t>(header->ts.tv_usec);
        frame.original_length = header->len;
        frame.data = absl::MakeConstSpan(bytes, header->caplen);
        (*ctx->each)(frame);
      },
      reinterpret_cast<u_char*>(&context));
  if (n == PCAP_ERROR) {
    return absl::InternalError(absl::StrCat("pcap_dispatch: ", pcap_geterr(pcap_.get())));
  }
  return n < 0 ? 0 : n;
}

absl::StatusOr<PcapHandle::Stats> LivePcap::ReadStats() {
  pcap_stat raw{};
  if (pcap_stats(pcap_.get(), &raw) != 0) {
    return absl::InternalError(absl::StrCat("pcap_stats: ", pcap_geterr(pcap_.get())));
  }
  return Stats{raw.ps_recv, raw.ps_drop, raw.ps_ifdrop};
}

}  // namespace netprobe
