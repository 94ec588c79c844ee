#include "agent/probes/request_fields.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/net/socket_address.h"
#include "common/posix_error.h"
#include "common/proto_time.h"

namespace netprobe {
namespace {

// google.protobuf.Duration's range: +-10,000 years.
constexpr int64_t kMaxDurationSeconds = 315576000000;
constexpr int32_t kMaxDurationNanos = 999999999;
// Longer than any IPv6 literal with a scope ("ffff:...%" + IFNAMSIZ).
constexpr size_t kMaxLiteralLength = INET6_ADDRSTRLEN + IFNAMSIZ;

}  // namespace

absl::Status CheckDuration(const google::protobuf::Duration& value,
                           absl::string_view field) {
  const int64_t seconds = value.seconds();
  const int32_t nanos = value.nanos();
  if (seconds < -kMaxDurationSeconds || seconds > kMaxDurationSeconds) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": seconds ", seconds, " is out of range: a Duration has from ",
        -kMaxDurationSeconds, " to ", kMaxDurationSeconds));
  }
  if (nanos < -kMaxDurationNanos || nanos > kMaxDurationNanos ||
      (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": nanos ", nanos, " is out of range: it must be from -",
                     kMaxDurationNanos, " to ", kMaxDurationNanos,
                     " with the sign of seconds (", seconds, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> DurationInRange(const google::protobuf::Duration& value,
                                               absl::string_view field,
                                               absl::Duration min, absl::Duration max,
                                               absl::string_view min_note) {
  const std::string range = absl::StrCat("it must be from ", absl::FormatDuration(min),
                                         min_note, " to ", absl::FormatDuration(max));
  if (value.seconds() < -kMaxDurationSeconds || value.seconds() > kMaxDurationSeconds) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", value.seconds(), " seconds is out of range: ", range));
  }
  if (absl::Status st = CheckDuration(value, field); !st.ok()) return st;
  const absl::Duration d = FromProto(value);
  if (d < min || d > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", absl::FormatDuration(d), " is out of range: ", range));
  }
  return d;
}

std::string Quoted(absl::string_view value) {
  constexpr size_t kShown = 64;
  if (value.size() <= kShown) return absl::StrCat("'", absl::CEscape(value), "'");
  return absl::StrCat("'", absl::CEscape(value.substr(0, kShown)), "...' (", value.size(),
                      " characters)");
}

bool IsHostName(absl::string_view name) {
  if (absl::EndsWith(name, ".")) name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  absl::string_view last;
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    if (!std::all_of(label.begin(), label.end(),
                     [](char c) { return absl::ascii_isalnum(c) || c == '-'; })) {
      return false;
    }
    last = label;
  }
  if (std::all_of(last.begin(), last.end(),
                  [](char c) { return absl::ascii_isdigit(c); })) {
    return false;
  }
  in_addr ignored{};
  return inet_aton(std::string(name).c_str(), &ignored) == 0;
}

namespace {

// IPv4 in the older numeric forms ping and getaddrinfo take ("10.1" for
// 10.0.0.1, "0x7f000001", "3323068428"): the resolver turns them into the
// address they name, which the policy then judges like any other.
std::optional<SocketAddress> InetAtonForm(absl::string_view host) {
  if (host.empty() || host.size() > 2 + 4 * 11) return std::nullopt;
  for (char c : host) {
    if (!absl::ascii_isxdigit(c) && c != '.' && c != 'x' && c != 'X') return std::nullopt;
  }
  in_addr address;
  if (inet_aton(std::string(host).c_str(), &address) == 0) return std::nullopt;
  char text[INET_ADDRSTRLEN];
  if (inet_ntop(AF_INET, &address, text, sizeof(text)) == nullptr) return std::nullopt;
  return SocketAddress::FromLiteral(text);
}

}  // namespace

absl::Status CheckHost(absl::string_view host, int family, absl::string_view field) {
  std::optional<SocketAddress> literal;
  if (host.size() <= kMaxLiteralLength) literal = SocketAddress::FromLiteral(host);
  if (!literal) literal = InetAtonForm(host);
  if (!literal) {
    if (IsHostName(host)) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", Quoted(host), " is not a host name or address"));
  }
  if (family != AF_UNSPEC && literal->family() != family) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", host, " is an ", literal->family() == AF_INET ? "IPv4" : "IPv6",
        " address but the request asks for ", family == AF_INET ? "IPv4" : "IPv6"));
  }
  return absl::OkStatus();
}

absl::StatusOr<HostPort> ParseTarget(absl::string_view text, int family,
                                     absl::string_view field) {
  constexpr size_t kMaxTarget = 254 + 6;
  if (text.size() > kMaxTarget) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", Quoted(text),
                                                   " is not HOST:PORT (at most ",
                                                   kMaxTarget, " characters)"));
  }
  NETPROBE_ASSIGN_OR_RETURN(HostPort target, ParseHostPort(text, field));
  if (absl::StartsWith(text, "[")) {
    std::optional<SocketAddress> literal = SocketAddress::FromLiteral(target.host);
    if (!literal || literal->family() != AF_INET6) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": ", Quoted(text),
                       ": brackets hold an IPv6 address (e.g. [2001:db8::1]:443)"));
    }
  }
  NETPROBE_RETURN_IF_ERROR(CheckHost(target.host, family, field));
  return target;
}

absl::StatusOr<int> FamilyOf(v1::AddressFamily family) {
  switch (family) {
    case v1::ADDRESS_FAMILY_UNSPECIFIED:
      return AF_UNSPEC;
    case v1::ADDRESS_FAMILY_IPV4:
      return AF_INET;
    case v1::ADDRESS_FAMILY_IPV6:
      return AF_INET6;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("family: ", family, " is not IPV4, IPV6 or unset"));
  }
}

absl::Status PrecheckSocketOptions(const v1::SocketOptions& options) {
  if (options.interface().size() >= IFNAMSIZ) {
    return absl::NotFoundError(
        absl::StrCat("options.interface: no interface ", Quoted(options.interface()),
                     " on this host (names have at most ", IFNAMSIZ - 1, " characters)"));
  }
  if (options.source_address().size() > kMaxLiteralLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.source_address: ", Quoted(options.source_address()),
                     " is not an IP address"));
  }
  if (!v1::DontFragment_IsValid(options.dont_fragment())) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.dont_fragment: ", options.dont_fragment(),
                     " is not SET, CLEAR or unset"));
  }
  if (options.has_tcp_keepalive_idle()) {
    return CheckDuration(options.tcp_keepalive_idle(), "options.tcp_keepalive_idle");
  }
  return absl::OkStatus();
}

}  // namespace netprobe
