#ifndef NETPROBE_AGENT_PROBES_REQUEST_FIELDS_H_
#define NETPROBE_AGENT_PROBES_REQUEST_FIELDS_H_

#include <google/protobuf/duration.pb.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/net/socket_address.h"
#include "netprobe/v1/common.pb.h"

namespace netprobe {

// Checks a request's duration field against [min, max]. The error names the
// field and the range: "interval: 500us is out of range: it must be from 1ms
// to 1h"; `min_note` follows the minimum ("0s (none)"). A malformed Duration
// (nanos beyond +-999,999,999 or of the other sign than seconds, seconds
// beyond the 10,000 years google.protobuf.Duration allows) is refused too.
absl::StatusOr<absl::Duration> DurationInRange(const google::protobuf::Duration& value,
                                               absl::string_view field,
                                               absl::Duration min, absl::Duration max,
                                               absl::string_view min_note = "");

// INVALID_ARGUMENT naming `field` unless `value` is a well-formed Duration
// (see DurationInRange).
absl::Status CheckDuration(const google::protobuf::Duration& value,
                           absl::string_view field);

// A caller's text as an error message shows it: in single quotes, with
// control and non-ASCII bytes escaped as in C ("\001"), cut after 64 characters with its
// length said, so a message stays short whatever was sent.
std::string Quoted(absl::string_view value);

// An RFC 1123 host name: 1 to 253 characters (and an optional final dot) of
// dot-separated labels of 1 to 63 letters, digits and hyphens, no label
// starting or ending with a hyphen. Not a name: anything whose last label is
// all digits ("300.1.1.1", "10.1") or that inet_aton() would read as an
// address ("0x7f000001"): numbers are written as a.b.c.d literals.
bool IsHostName(absl::string_view name);

// OK when `host` is an IP literal (IPv6 with an optional "%scope") or a host
// name; else INVALID_ARGUMENT "targets[3]: 'x y' is not a host name or
// address". With `family` AF_INET or AF_INET6, a literal of the other family
// is INVALID_ARGUMENT "targets[3]: 198.18.0.1 is an IPv4 address but the
// request asks for IPv6". Names are not resolved.
absl::Status CheckHost(absl::string_view host, int family, absl::string_view field);

// A "HOST:PORT" or "[IPV6]:PORT" target (ParseHostPort) whose host passes
// CheckHost for `family`; brackets must hold an IPv6 literal. Anything longer
// than the longest such target (a 253-character name, its final dot and
// ":65535") is refused before it is parsed.
absl::StatusOr<HostPort> ParseTarget(absl::string_view text, int family,
                                     absl::string_view field);

// AF_UNSPEC, AF_INET or AF_INET6; INVALID_ARGUMENT "family: 7 is not IPV4,
// IPV6 or unset" for a value the enum does not define (proto3 keeps those).
absl::StatusOr<int> FamilyOf(v1::AddressFamily family);

// What ValidateSocketOptions does not check, checked before it: the text
// fields it would quote in full, so a huge one gives a short message (an
// interface name longer than IFNAMSIZ - 1 is NOT_FOUND, a source address
// longer than any literal INVALID_ARGUMENT); dont_fragment must be a value
// the enum defines; tcp_keepalive_idle must be a well-formed Duration.
absl::Status PrecheckSocketOptions(const v1::SocketOptions& options);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_REQUEST_FIELDS_H_
