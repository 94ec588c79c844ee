#include "client/output/mcast_text.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "client/output/tcp_text.h"
#include "common/proto_time.h"

namespace netprobe::client {
namespace {

constexpr size_t kPreviewBytes = 32;

std::string Clock(const google::protobuf::Timestamp& t, absl::TimeZone zone) {
  return absl::FormatTime("%H:%M:%E6S", FromProto(t), zone);
}

std::string Plural(uint64_t n, const char* one, const char* many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

}  // namespace

std::string FormatMcastJoined(const v1::MulticastJoined& j, absl::TimeZone zone) {
  return absl::StrFormat(
      "joined %s port %d on %s, %s, at %s\n", j.group(), j.port(),
      j.interface().empty() ? "the route's interface" : j.interface(),
      j.source().empty() ? "any source" : absl::StrCat("source ", j.source(), " only"),
      Clock(j.time(), zone));
}

std::string FormatMcastDatagram(const v1::MulticastDatagram& d, absl::TimeZone zone) {
  const v1::Endpoint& s = d.source();
  const std::string from = s.family() == v1::ADDRESS_FAMILY_IPV6
                               ? absl::StrCat("[", s.address(), "]:", s.port())
                               : absl::StrCat(s.address(), ":", s.port());
  std::string line = absl::StrFormat("%s > %s: %d bytes ttl=%d time=%s", from, d.group(),
                                     d.bytes(), d.ttl(), Clock(d.time(), zone));
  if (!d.payload().empty()) {
    const absl::string_view shown =
        absl::string_view(d.payload()).substr(0, kPreviewBytes);
    absl::StrAppend(&line, " \"", absl::CHexEscape(shown), "\"",
                    d.bytes() > shown.size() ? "..." : "");
  }
  return line + "\n";
}

std::string FormatMcastSummary(const std::string& group_port,
                               const v1::MulticastSummary& s) {
  std::string out = absl::StrFormat("\n--- %s multicast statistics ---\n", group_port);
  absl::StrAppend(&out, Plural(s.received(), "datagram", "datagrams"), " received from ",
                  Plural(s.distinct_sources(), "source", "sources"), ", ", s.sent(),
                  " sent");
  if (s.send_errors() > 0) absl::StrAppend(&out, " (", s.send_errors(), " send errors)");
  absl::StrAppend(&out, ", ", s.kernel_drops(), " dropped by the kernel\n");
  if (s.has_time_to_first()) {
    absl::StrAppend(&out, "first datagram ", Millis(s.time_to_first()),
                    " ms after the join\n");
  }
  return out;
}

}  // namespace netprobe::client
