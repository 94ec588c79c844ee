// Bad input, RPC by RPC and field by field (issue 11): every row sends one
// request in protobuf text format to an in-process agent and expects the
// status code and a message that names the field and its limit; after each
// RPC's rows the agent must still serve (GetInfo, and a ping of 127.0.0.1).
//
// The test process moves into a network namespace of its own before the agent
// starts (root): loopback and a veth pair for Broadcast's checks are
// all there is, so nothing a row might send by mistake leaves the test, and
// no row uses a name that would need DNS.
#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/policy/policy.h"
#include "agent/server/agent_server.h"
#include "netprobe/v1/agent.grpc.pb.h"
#include "netprobe/v1/probes.grpc.pb.h"
#include "netprobe/v1/schedule.grpc.pb.h"
#include "tests/test_support/status_matchers.h"
#include "tests/test_support/subprocess.h"

namespace netprobe::testing {
namespace {

using ::grpc::StatusCode;
using ::testing::HasSubstr;

enum class Rpc {
  kPing,
  kTcpConnect,
  kUdpEcho,
  kBroadcast,
  kMulticast,
  kCapture,
  kSockets,
  kTraceroute,
  kThroughput,
  kWatchResults
};

// One row: the request (text format), the status it must end with, and a
// piece of the message naming the field and the limit.
struct Case {
  std::string request;
  StatusCode code;
  std::string message;
};

// A veth pair in the test's own network namespace: one end with an IPv4
// address and its broadcast, the other with no address.
constexpr char kBroadcastIf[] = "npbad0";
constexpr char kNoAddressIf[] = "npbad1";

std::string Repeat(absl::string_view text, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) absl::StrAppend(&out, text);
  return out;
}

std::string Chars(size_t n) { return std::string(n, 'x'); }

// `n` characters as Quoted() shows them in a message: the first 64, "...",
// and the length.
std::string QuotedChars(size_t n) {
  return absl::StrCat("'", Chars(64), "...' (", n, " characters)");
}

constexpr StatusCode kInvalid = StatusCode::INVALID_ARGUMENT;
constexpr StatusCode kNotFound = StatusCode::NOT_FOUND;

// Socket options as every probe with options takes them; `base` is a valid
// request they are added to.
std::vector<Case> SocketOptionCases(const std::string& base) {
  return {
      {base + "options { ttl: 0 }", kInvalid,
       "options.ttl: 0 is out of range: it must be from 1 to 255"},
      {base + "options { ttl: 256 }", kInvalid,
       "options.ttl: 256 is out of range: it must be from 1 to 255"},
      {base + "options { ttl: 4294967295 }", kInvalid,
       "options.ttl: 4294967295 is out of range"},
      {base + "options { tos: 256 }", kInvalid,
       "options.tos: 256 is out of range: it must be from 0 to 255"},
      {base + "options { interface: 'nosuch0' }", kNotFound,
       "options.interface: no interface 'nosuch0' on this host"},
      {base + absl::StrCat("options { interface: '", Chars(100000), "' }"), kNotFound,
       absl::StrCat("options.interface: no interface ", QuotedChars(100000),
                    " on this host (names have at most 15 characters)")},
      {base + "options { source_address: 'not-an-ip' }", kInvalid,
       "options.source_address: 'not-an-ip' is not an IP address"},
      {base + "options { source_address: '300.1.1.1' }", kInvalid,
       "options.source_address: '300.1.1.1' is not an IP address"},
      {base + absl::StrCat("options { source_address: '", Chars(5000), "' }"), kInvalid,
       absl::StrCat("options.source_address: ", QuotedChars(5000),
                    " is not an IP address")},
      // TEST-NET-2: on no interface of the namespace.
      {base + "options { source_address: '198.51.100.77' }", kInvalid,
       "options.source_address: 198.51.100.77 is not an address of this host"},
      {base + "options { dont_fragment: 7 }", kInvalid,
       "options.dont_fragment: 7 is not SET, CLEAR or unset"},
      {base + "options { send_buffer: 1023 }", kInvalid,
       "options.send_buffer: 1023 is out of range: it must be from 1024 to 67108864"},
      {base + "options { receive_buffer: 67108865 }", kInvalid,
       "options.receive_buffer: 67108865 is out of range: it must be from 1024 to "
       "67108864"},
      {base + "options { priority: 256 }", kInvalid,
       "options.priority: 256 is out of range: it must be from 0 to 255"},
  };
}

// Malformed or out-of-range google.protobuf.Duration values of `field` (a
// field of the request's top level; `base` carries the rest) whose valid
// range the message states as `range`.
std::vector<Case> DurationCases(const std::string& base, const std::string& field,
                                const std::string& range) {
  return {
      {base + field + " { seconds: -1 }", kInvalid,
       absl::StrCat(field, ": -1s is out of range: ", range)},
      {base + field + " { nanos: -1 }", kInvalid,
       absl::StrCat(field, ": -1ns is out of range: ", range)},
      {base + field + " { seconds: 1 nanos: 1000000000 }", kInvalid,
       absl::StrCat(field,
                    ": nanos 1000000000 is out of range: it must be from "
                    "-999999999 to 999999999 with the sign of seconds")},
      {base + field + " { seconds: 1 nanos: -5 }", kInvalid,
       absl::StrCat(field, ": nanos -5 is out of range")},
      {base + field + " { seconds: 9223372036854775807 }", kInvalid,
       absl::StrCat(field, ": 9223372036854775807 seconds is out of range: ", range)},
      {base + field + " { seconds: -9223372036854775808 }", kInvalid,
       absl::StrCat(field, ": -9223372036854775808 seconds is out of range: ", range)},
  };
}

template <typename T>
void Append(std::vector<T>* to, std::vector<T> more) {
  for (T& t : more) to->push_back(std::move(t));
}

std::vector<Case> PingCases() {
  const std::string ok = "targets: '127.0.0.1' ";
  std::vector<Case> cases = {
      {"", kInvalid, "targets: at least one host is needed"},
      {Repeat("targets: '127.0.0.1' ", 4097), kInvalid,
       "targets: 4097 targets exceed the limit of 4096 per request"},
      {"targets: ''", kInvalid, "targets[0]: '' is not a host name or address"},
      {"targets: '127.0.0.1' targets: 'bad host'", kInvalid,
       "targets[1]: 'bad host' is not a host name or address"},
      {"targets: '300.1.1.1'", kInvalid,
       "targets[0]: '300.1.1.1' is not a host name or address"},
      {"targets: '1.2.3.4.5'", kInvalid,
       "targets[0]: '1.2.3.4.5' is not a host name or address"},
      {R"(targets: "a\001b")", kInvalid,
       R"(targets[0]: 'a\001b' is not a host name or address)"},
      {"targets: '-leading.example'", kInvalid,
       "targets[0]: '-leading.example' is not a host name or address"},
      {"targets: 'a..b'", kInvalid, "targets[0]: 'a..b' is not a host name or address"},
      {"targets: '[::1]'", kInvalid, "targets[0]: '[::1]' is not a host name or address"},
      {"targets: '127.0.0.1:80'", kInvalid,
       "targets[0]: '127.0.0.1:80' is not a host name or address"},
      {absl::StrCat("targets: '", Chars(64), ".", Chars(10), "'"), kInvalid,
       "is not a host name or address"},  // a label of 64
      {absl::StrCat("targets: '", Chars(254), "'"), kInvalid,
       absl::StrCat("targets[0]: ", QuotedChars(254), " is not a host name or address")},
      {absl::StrCat("targets: '", Chars(1 << 20), "'"), kInvalid,
       absl::StrCat("targets[0]: ", QuotedChars(1 << 20),
                    " is not a host name or address")},
      {"targets: '127.0.0.1' family: ADDRESS_FAMILY_IPV6", kInvalid,
       "targets[0]: 127.0.0.1 is an IPv4 address but the request asks for IPv6"},
      {"targets: '::1' family: ADDRESS_FAMILY_IPV4", kInvalid,
       "targets[0]: ::1 is an IPv6 address but the request asks for IPv4"},
      {ok + "family: 7", kInvalid, "family: 7 is not IPV4, IPV6 or unset"},
      {ok + "count: 1000001", kInvalid,
       "count: 1000001 is above the limit of 1000000 (0 runs until cancelled)"},
      {ok + "count: 4294967295", kInvalid,
       "count: 4294967295 is above the limit of 1000000"},
      {ok + "interval {}", kInvalid,
       "interval: 0 is out of range: it must be from 1ms to 1h"},
      {ok + "interval { nanos: 999999 }", kInvalid,
       "interval: 999.999us is out of range: it must be from 1ms to 1h"},
      {ok + "interval { seconds: 3601 }", kInvalid,
       "interval: 1h1s is out of range: it must be from 1ms to 1h"},
      {ok + "timeout {}", kInvalid,
       "timeout: 0 is out of range: it must be from 1ms to 1m"},
      {ok + "timeout { seconds: 61 }", kInvalid,
       "timeout: 1m1s is out of range: it must be from 1ms to 1m"},
      {ok + "size: 65508", kInvalid, "size: 65508 bytes is above the maximum of 65507"},
      {ok + "size: 4294967295", kInvalid,
       "size: 4294967295 bytes is above the maximum of 65507"},
      {ok + "rate_limit: 100001", kInvalid,
       "rate_limit: 100001 per second is above the limit of 100000"},
      {ok + "options { source_port: 80 }", kInvalid,
       "options.source_port: ICMP has no ports"},
      {ok + "options { tcp_nodelay: true }", kInvalid,
       "options: tcp_nodelay and tcp_keepalive_idle are for TCP"},
      {ok + "options { tcp_keepalive_idle { seconds: 10 } }", kInvalid,
       "options: tcp_nodelay and tcp_keepalive_idle are for TCP"},
      {"targets: '::1' family: ADDRESS_FAMILY_IPV6 options { source_address: "
       "'127.0.0.1' }",
       kInvalid, "options.source_address: its family differs from the requested family"},
  };
  Append(&cases, DurationCases(ok, "interval", "it must be from 1ms to 1h"));
  Append(&cases, DurationCases(ok, "timeout", "it must be from 1ms to 1m"));
  Append(&cases, SocketOptionCases(ok));
  return cases;
}

std::vector<Case> TcpConnectCases() {
  const std::string ok = "targets: '127.0.0.1:9' ";
  std::vector<Case> cases = {
      {"", kInvalid, "targets: at least one HOST:PORT is needed"},
      {Repeat("targets: '127.0.0.1:9' ", 1025), kInvalid,
       "targets: 1025 targets exceed the limit of 1024 per request"},
      {"targets: '127.0.0.1'", kInvalid,
       "targets[0]: '127.0.0.1' has no port; write HOST:PORT"},
      {"targets: ''", kInvalid, "targets[0]: '' has no port"},
      {"targets: '127.0.0.1:0'", kInvalid,
       "targets[0]: port '0' is out of range: it must be from 1 to 65535"},
      {"targets: '127.0.0.1:9' targets: '127.0.0.1:65536'", kInvalid,
       "targets[1]: port '65536' is out of range: it must be from 1 to 65535"},
      {"targets: '127.0.0.1:-1'", kInvalid, "targets[0]: port '-1' is out of range"},
      {"targets: '127.0.0.1:99999999999999999999'", kInvalid,
       "targets[0]: port '99999999999999999999' is out of range"},
      {"targets: '127.0.0.1:'", kInvalid, "targets[0]: port '' is out of range"},
      {"targets: ':80'", kInvalid, "targets[0]: ':80' has no host"},
      {"targets: '::1:80'", kInvalid, "put an IPv6 address in brackets, [ADDR]:PORT"},
      {"targets: '[::1]80'", kInvalid, "targets[0]: '[::1]80' is not [IPv6]:PORT"},
      {"targets: '[web]:80'", kInvalid,
       "targets[0]: '[web]:80': brackets hold an IPv6 address"},
      {"targets: '[127.0.0.1]:80'", kInvalid,
       "targets[0]: '[127.0.0.1]:80': brackets hold an IPv6 address"},
      {"targets: 'bad host:80'", kInvalid,
       "targets[0]: 'bad host' is not a host name or address"},
      {"targets: '300.1.1.1:80'", kInvalid,
       "targets[0]: '300.1.1.1' is not a host name or address"},
      {"targets: 'host_name:80'", kInvalid,
       "targets[0]: 'host_name' is not a host name or address"},
      {absl::StrCat("targets: '", Chars(300), ":80'"), kInvalid,
       absl::StrCat("targets[0]: ", "'", Chars(64),
                    "...' (303 characters) is not HOST:PORT (at most 260 characters)")},
      {absl::StrCat("targets: '", Chars(1 << 20), "'"), kInvalid,
       absl::StrCat("targets[0]: ", QuotedChars(1 << 20), " is not HOST:PORT")},
      {"targets: '127.0.0.1:80' family: ADDRESS_FAMILY_IPV6", kInvalid,
       "targets[0]: 127.0.0.1 is an IPv4 address but the request asks for IPv6"},
      {"targets: '[::1]:80' family: ADDRESS_FAMILY_IPV4", kInvalid,
       "targets[0]: ::1 is an IPv6 address but the request asks for IPv4"},
      {ok + "family: 3", kInvalid, "family: 3 is not IPV4, IPV6 or unset"},
      {ok + "count: 100001", kInvalid,
       "count: 100001 is above the limit of 100000 attempts per target"},
      {Repeat("targets: '127.0.0.1:9' ", 11) + "count: 100000", kInvalid,
       "count: 11 targets x 100000 attempts = 1100000 exceeds the limit of 1000000"},
      {ok + "interval { seconds: 3601 }", kInvalid,
       "interval: 1h1s is out of range: it must be from 0 (back to back) to 1h"},
      {ok + "timeout {}", kInvalid,
       "timeout: 0 is out of range: it must be from 1ms to 1m"},
      {ok + "timeout { seconds: 61 }", kInvalid, "timeout: 1m1s is out of range"},
      {ok + "concurrency: 4097", kInvalid,
       "concurrency: 4097 is above the limit of 4096"},
      {ok + absl::StrCat("send_payload: '", Chars(4097), "'"), kInvalid,
       "send_payload: 4097 bytes exceed the limit of 4096"},
      {ok + "read_bytes: 65537", kInvalid,
       "read_bytes: 65537 is above the limit of 65536"},
      {ok + "options { source_port: 80 }", kInvalid,
       "options.source_port: needs options.source_address"},
      {ok + "options { source_address: '127.0.0.1' source_port: 65536 }", kInvalid,
       "options.source_port: 65536 is out of range: it must be from 0 to 65535"},
      {ok + "options { tcp_keepalive_idle { nanos: 5 } }", kInvalid,
       "options.tcp_keepalive_idle: 5ns is out of range: it must be from 1s to 2h"},
      {ok + "options { tcp_keepalive_idle { seconds: 7201 } }", kInvalid,
       "options.tcp_keepalive_idle: 2h1s is out of range: it must be from 1s to 2h"},
      {ok + "options { tcp_keepalive_idle { seconds: 1 nanos: -1 } }", kInvalid,
       "options.tcp_keepalive_idle: nanos -1 is out of range"},
      {ok + "options { tcp_keepalive_idle { seconds: 9223372036854775807 } }", kInvalid,
       "options.tcp_keepalive_idle: seconds 9223372036854775807 is out of range"},
      {"targets: '[::1]:80' family: ADDRESS_FAMILY_IPV6 options { source_address: "
       "'127.0.0.1' }",
       kInvalid, "options.source_address: its family differs from the requested family"},
  };
  Append(&cases, DurationCases(ok, "interval", "it must be from 0 (back to back) to 1h"));
  Append(&cases, DurationCases(ok, "timeout", "it must be from 1ms to 1m"));
  Append(&cases, SocketOptionCases(ok));
  return cases;
}

std::vector<Case> UdpEchoCases() {
  const std::string ok = "target: '127.0.0.1:7' ";
  std::vector<Case> cases = {
      {"", kInvalid, "target: '' has no port; write HOST:PORT"},
      {"target: '127.0.0.1'", kInvalid, "target: '127.0.0.1' has no port"},
      {"target: '127.0.0.1:0'", kInvalid,
       "target: port '0' is out of range: it must be from 1 to 65535"},
      {"target: '127.0.0.1:65536'", kInvalid,
       "target: port '65536' is out of range: it must be from 1 to 65535"},
      {"target: 'bad_host:7'", kInvalid,
       "target: 'bad_host' is not a host name or address"},
      {"target: '[::1:7'", kInvalid, "target: '[::1:7' is not [IPv6]:PORT"},
      {absl::StrCat("target: '", Chars(1 << 20), ":7'"), kInvalid,
       absl::StrCat("target: '", Chars(64), "...' (", (1 << 20) + 2,
                    " characters) is not HOST:PORT")},
      {"target: '127.0.0.1:7' family: ADDRESS_FAMILY_IPV6", kInvalid,
       "target: 127.0.0.1 is an IPv4 address but the request asks for IPv6"},
      {ok + "family: 9", kInvalid, "family: 9 is not IPV4, IPV6 or unset"},
      {ok + "count: 1000001", kInvalid, "count: 1000001 is above the limit of 1000000"},
      {ok + "interval { nanos: 999999 }", kInvalid,
       "interval: 999.999us is out of range: it must be from 1ms to 1h"},
      {ok + "timeout { seconds: 61 }", kInvalid,
       "timeout: 1m1s is out of range: it must be from 1ms to 1m"},
      {ok + "size: 23", kInvalid,
       "size: 23 bytes is out of range: it must be from 24 (the header that carries "
       "sequence and send time) to 65507"},
      {ok + "size: 65508", kInvalid, "size: 65508 bytes is out of range"},
      {ok + "options { tcp_nodelay: true }", kInvalid,
       "options: tcp_nodelay and tcp_keepalive_idle are for TCP"},
      {ok + "options { source_address: '127.0.0.1' source_port: 65536 }", kInvalid,
       "options.source_port: 65536 is out of range: it must be from 0 to 65535"},
  };
  Append(&cases, DurationCases(ok, "interval", "it must be from 1ms to 1h"));
  Append(&cases, DurationCases(ok, "timeout", "it must be from 1ms to 1m"));
  Append(&cases, SocketOptionCases(ok));
  return cases;
}

std::vector<Case> TracerouteCases() {
  const std::string ok = "target: '127.0.0.1' ";
  std::vector<Case> cases = {
      {"", kInvalid, "target: a host name or address is needed"},
      {"target: 'bad host'", kInvalid,
       "target: 'bad host' is not a host name or address"},
      {"target: '127.0.0.1:33434'", kInvalid,
       "target: '127.0.0.1:33434' is not a host name or address"},
      {"target: '127.0.0.1' family: ADDRESS_FAMILY_IPV6", kInvalid,
       "target: 127.0.0.1 is an IPv4 address but the request asks for IPv6"},
      {ok + "family: 9", kInvalid, "family: 9 is not IPV4, IPV6 or unset"},
      {ok + "method: 7", kInvalid, "method: 7 is not UDP, ICMP, TCP or unset"},
      {ok + "method: TRACEROUTE_METHOD_TCP port: 0", kInvalid,
       "port: 0 is out of range: it must be from 1 to 65535"},
      {ok + "rounds: 1000001", kInvalid,
       "rounds: 1000001 is out of range: it must be from 0 to 1000000"},
      {ok + "rounds: 10 probes_per_hop: 3", kInvalid,
       "probes_per_hop: mtr mode (rounds) sends one probe per hop and flow each round"},
      {ok + "interval { seconds: 1 }", kInvalid,
       "interval: the time between rounds is for mtr mode; set rounds too"},
      {ok + "rounds: 3 interval { nanos: 1000000 }", kInvalid, "interval: "},
      {ok + "max_silent_hops: 256", kInvalid,
       "max_silent_hops: 256 is out of range: it must be from 0 to 255"},
      {"target: '::1' flow_label: 1048576", kInvalid,
       "flow_label: 1048576 is out of range: it must be from 0 to 1048575"},
      {ok + "flow_label: 5 family: ADDRESS_FAMILY_IPV4", kInvalid,
       "flow_label: IPv4 has no flow label"},
      {ok + "flow_label: 5", kInvalid, "flow_label: 127.0.0.1 is 127.0.0.1, and IPv4"},
      {ok + "path_mtu: true rounds: 2", kInvalid,
       "path_mtu: path MTU discovery is one trace; it does not combine with rounds"},
      {ok + "method: TRACEROUTE_METHOD_TCP packet_length: 60", kInvalid,
       "packet_length: TCP SYN probes are headers only (44 bytes IPv4, 64 IPv6); "
       "leave it unset"},
      {ok + "path_mtu: true method: TRACEROUTE_METHOD_TCP", kInvalid,
       "path_mtu: path MTU discovery probes with UDP, like tracepath"},
      {ok + "path_mtu: true options { dont_fragment: DONT_FRAGMENT_CLEAR }", kInvalid,
       "options.dont_fragment: path_mtu sets DF on every probe itself"},
      {ok + "path_mtu: true method: TRACEROUTE_METHOD_ICMP", kInvalid,
       "path_mtu: path MTU discovery probes with UDP, like tracepath"},
      {ok + "port: 0", kInvalid, "port: 0 is out of range: it must be from 1 to 65535"},
      {ok + "port: 65536", kInvalid,
       "port: 65536 is out of range: it must be from 1 to 65535"},
      {ok + "method: TRACEROUTE_METHOD_ICMP port: 7", kInvalid,
       "port: ICMP has no ports"},
      {ok + "first_ttl: 0", kInvalid,
       "first_ttl: 0 is out of range: it must be from 1 to 255"},
      {ok + "max_ttl: 0", kInvalid,
       "max_ttl: 0 is out of range: it must be from 1 to 255"},
      {ok + "max_ttl: 256", kInvalid,
       "max_ttl: 256 is out of range: it must be from 1 to 255"},
      {ok + "first_ttl: 256", kInvalid,
       "first_ttl: 256 is out of range: it must be from 1 to 255"},
      {ok + "first_ttl: 10 max_ttl: 5", kInvalid, "first_ttl: 10 is above max_ttl 5"},
      {ok + "first_ttl: 31", kInvalid, "first_ttl: 31 is above max_ttl 30"},
      {ok + "probes_per_hop: 0", kInvalid,
       "probes_per_hop: 0 is out of range: it must be from 1 to 10"},
      {ok + "probes_per_hop: 11", kInvalid,
       "probes_per_hop: 11 is out of range: it must be from 1 to 10"},
      {ok + "flows: 0", kInvalid, "flows: 0 is out of range: it must be from 1 to 64"},
      {ok + "flows: 65", kInvalid, "flows: 65 is out of range: it must be from 1 to 64"},
      {ok + "packet_length: 39", kInvalid,
       "packet_length: 39 is out of range: it must be from 40 to 65000"},
      {ok + "packet_length: 65001", kInvalid,
       "packet_length: 65001 is out of range: it must be from 40 to 65000"},
      {"target: '::1' family: ADDRESS_FAMILY_IPV6 packet_length: 59", kInvalid,
       "packet_length: 59 is out of range: it must be from 60 to 65000"},
      // The family is known once the target is resolved.
      {"target: '::1' packet_length: 59", kInvalid,
       "packet_length: 59 bytes is below the minimum of 60 for IPv6"},
      {ok + "wait {}", kInvalid, "wait: 0 is out of range: it must be from 1ms to 1m"},
      {ok + "wait { seconds: 61 }", kInvalid,
       "wait: 1m1s is out of range: it must be from 1ms to 1m"},
      {ok + "rate_limit: 100001", kInvalid,
       "rate_limit: 100001 per second is above the limit of 100000"},
      {ok + "options { ttl: 5 }", kInvalid,
       "options.ttl: traceroute sets each probe's TTL; use first_ttl and max_ttl"},
      {ok + "options { source_port: 80 }", kInvalid,
       "options.source_port: each flow has its own source port"},
      {ok + "options { tcp_nodelay: true }", kInvalid,
       "options: tcp_nodelay and tcp_keepalive_idle are for TCP"},
  };
  Append(&cases, DurationCases(ok, "wait", "it must be from 1ms to 1m"));
  for (Case& c : SocketOptionCases(ok)) {
    if (!absl::StrContains(c.request, "ttl:")) cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<Case> ThroughputCases() {
  const std::string ok = "target: '127.0.0.1' ";
  std::vector<Case> cases = {
      {"", kInvalid, "target: a HOST or HOST:PORT is needed"},
      {"target: 'bad host'", kInvalid, "target: 'bad host' is not a host name or address"},
      {"target: '127.0.0.1:0'", kInvalid,
       "target: port '0' is out of range: it must be from 1 to 65535"},
      {ok + "family: 9", kInvalid, "family: 9 is not IPV4, IPV6 or unset"},
      {ok + "protocol: 7", kInvalid, "protocol: 7 is not TCP, UDP or unset"},
      {ok + "direction: 9", kInvalid, "direction: 9 is not SEND, RECEIVE, BOTH or unset"},
      {ok + "duration { }", kInvalid,
       "duration: 0 is out of range: it must be from 100ms to 24h"},
      {ok + "duration { seconds: 90000 }", kInvalid,
       "duration: 25h is out of range: it must be from 100ms to 24h"},
      {ok + "duration { seconds: 61 }", StatusCode::PERMISSION_DENIED,
       "policy.limits.throughput_max_duration: duration 1m1s is above the limit of 1m"},
      {ok + "duration { seconds: 50 } omit { seconds: 11 }",
       StatusCode::PERMISSION_DENIED, "duration 50s + omit 11s is above the limit of 1m"},
      {ok + "bytes: 1000 duration { seconds: 1 }", kInvalid,
       "duration: give a duration or bytes, not both"},
      {ok + "parallel: 17", kInvalid,
       "parallel: 17 streams is out of range: it must be from 1 to 16 streams"},
      {ok + "congestion: 'nosuch'", kInvalid,
       "congestion: 'nosuch' is not a congestion control this kernel offers"},
      {ok + "congestion: 'cubic' protocol: PROTOCOL_UDP", kInvalid,
       "congestion: UDP has no congestion control"},
      {ok + "mss: 10", kInvalid,
       "mss: 10 bytes is out of range: it must be from 88 to 9216"},
      {ok + "bitrate: 400000000001", kInvalid,
       "bitrate: 400000000001 bit/s is out of range"},
      {ok + "protocol: PROTOCOL_UDP length: 8", kInvalid,
       "length: 8 bytes is out of range: it must be from 16 to 65507 bytes"},
      {ok + "length: 1048577", kInvalid,
       "length: 1048577 bytes is out of range: it must be from 1 to 1048576 bytes"},
      {ok + "window: 67108865", kInvalid, "window: 67108865 bytes is out of range"},
      {ok + "interval { nanos: 10000000 }", kInvalid,
       "interval: 10ms is out of range: it must be from 100ms to 1m"},
      {ok + "omit { seconds: 601 }", kInvalid,
       "omit: 10m1s is out of range: it must be from 0 to 10m"},
      {ok + "options { ttl: 5 }", kInvalid,
       "options.ttl: a throughput test keeps the kernel's TTL"},
      {ok + "options { source_port: 80 }", kInvalid,
       "options.source_port: a throughput test opens several connections"},
  };
  Append(&cases, DurationCases(ok, "interval", "it must be from 100ms to 1m"));
  for (Case& c : SocketOptionCases(ok)) {
    if (!absl::StrContains(c.request, "ttl:") &&
        !absl::StrContains(c.request, "source_port")) {
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

std::vector<Case> BroadcastCases() {
  const std::string ok = absl::StrCat("interface: '", kBroadcastIf, "' port: 7 ");
  std::vector<Case> cases = {
      {"", kInvalid, "interface: required (the interface to broadcast from"},
      {"interface: 'nosuch0' port: 7", kNotFound,
       "interface: no interface 'nosuch0' on this host (broadcast-capable: "},
      {absl::StrCat("interface: '", Chars(100000), "' port: 7"), kNotFound,
       absl::StrCat("interface: no interface ", QuotedChars(100000))},
      {"interface: 'lo' port: 7", kInvalid,
       "interface: 'lo' cannot broadcast (no IFF_BROADCAST flag)"},
      {absl::StrCat("interface: '", kNoAddressIf, "' port: 7"), kInvalid,
       absl::StrCat("interface: '", kNoAddressIf,
                    "' has no IPv4 address to broadcast from")},
      {absl::StrCat("interface: '", kBroadcastIf, "'"), kInvalid,
       "port: 0 is out of range: it must be from 1 to 65535"},
      {absl::StrCat("interface: '", kBroadcastIf, "' port: 65536"), kInvalid,
       "port: 65536 is out of range: it must be from 1 to 65535"},
      {ok + "address: '198.18.200.1'", kInvalid,
       absl::StrCat("address: '198.18.200.1' is not a broadcast address of ",
                    kBroadcastIf, "; allowed: 198.18.200.255, 255.255.255.255")},
      {ok + "address: '::1'", kInvalid, "address: '::1' is not a broadcast address"},
      {ok + absl::StrCat("address: '", Chars(100000), "'"), kInvalid,
       absl::StrCat("address: ", QuotedChars(100000), " is not a broadcast address")},
      {ok + absl::StrCat("payload: '", Chars(65508), "'"), kInvalid,
       "payload: 65508 bytes is above the maximum of 65507"},
      {ok + "window {}", kInvalid,
       "window: 0 is out of range: it must be from 1ms to 1m"},
      {ok + "window { seconds: 61 }", kInvalid,
       "window: 1m1s is out of range: it must be from 1ms to 1m"},
      {ok + "options { interface: 'lo' }", kInvalid,
       absl::StrCat("options.interface: 'lo' conflicts with interface '", kBroadcastIf,
                    "'")},
      {ok + "options { source_address: '::1' }", kInvalid,
       "options.source_address: a broadcast is IPv4; give an IPv4 address"},
  };
  Append(&cases, DurationCases(ok, "window", "it must be from 1ms to 1m"));
  for (Case& c : SocketOptionCases(ok)) {
    // options.interface must be the broadcast's own, checked first.
    if (absl::StrContains(c.request, "options { interface:")) continue;
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<Case> MulticastCases() {
  const std::string ok = "group: '239.1.2.3' port: 5000 ";
  std::vector<Case> cases = {
      {"", kInvalid, "group: a multicast group address is needed"},
      {"group: '239.1.2.3.4' port: 5000", kInvalid,
       "group: '239.1.2.3.4' is not an IP address literal (names are not accepted)"},
      {"group: 'localhost' port: 5000", kInvalid,
       "group: 'localhost' is not an IP address literal (names are not accepted)"},
      {absl::StrCat("group: '", Chars(100000), "' port: 5000"), kInvalid,
       absl::StrCat("group: ", QuotedChars(100000), " is not an IP address literal")},
      {"group: '127.0.0.1' port: 5000", kInvalid,
       "group: 127.0.0.1 is not a multicast address (IPv4 224.0.0.0/4, IPv6 ff00::/8)"},
      {"group: 'ff02::1%lo' port: 5000", kInvalid,
       "group: 'ff02::1%lo': give the interface in `interface`, not as a scope"},
      {"group: '239.1.2.3'", kInvalid,
       "port: 0 is out of range: it must be from 1 to 65535"},
      {"group: '239.1.2.3' port: 65536", kInvalid,
       "port: 65536 is out of range: it must be from 1 to 65535"},
      {ok + "interface: 'nosuch0'", kNotFound,
       "interface: no interface 'nosuch0' on this host"},
      {ok + absl::StrCat("interface: '", Chars(100000), "'"), kNotFound,
       absl::StrCat("interface: no interface ", QuotedChars(100000))},
      {"group: 'ff02::1' port: 5000", kInvalid,
       "interface: the group ff02::1 has interface- or link-local scope and needs an "
       "interface"},
      {ok + "source: '::1'", kInvalid,
       "source: ::1 is not of the family of the group 239.1.2.3"},
      {ok + "source: '239.1.1.1'", kInvalid,
       "source: 239.1.1.1 is not a unicast address (SSM needs the sender's)"},
      {ok + "source: '0.0.0.0'", kInvalid, "source: 0.0.0.0 is not a unicast address"},
      {ok + "source: 'not-an-ip'", kInvalid,
       "source: 'not-an-ip' is not an IP address literal"},
      {ok + "count: 1000001", kInvalid,
       "count: 1000001 is above the limit of 1000000 (0: no count limit)"},
      {ok + "duration { seconds: 86401 }", kInvalid,
       "duration: 24h1s is out of range: it must be from 0 (none) to 24h"},
      {ok + "max_payload: 65508", kInvalid,
       "max_payload: 65508 bytes is above the maximum of 65507"},
      {ok + "send_payload: 'x'", kInvalid, "send_payload: applies only when send is set"},
      {ok + "send_interval { seconds: 1 }", kInvalid,
       "send_interval: applies only when send is set"},
      {ok + "send_ttl: 2", kInvalid, "send_ttl: applies only when send is set"},
      {ok + "loopback: true", kInvalid, "loopback: applies only when send is set"},
      {ok + absl::StrCat("send: true send_payload: '", Chars(65508), "'"), kInvalid,
       "send_payload: 65508 bytes is above the maximum of 65507"},
      {ok + "send: true send_interval {}", kInvalid,
       "send_interval: 0 is out of range: it must be from 1ms to 1h"},
      {ok + "send: true send_ttl: 256", kInvalid,
       "send_ttl: 256 is out of range: it must be from 1 to 255 (0: the default, 1)"},
  };
  Append(&cases, DurationCases(ok, "duration", "it must be from 0 (none) to 24h"));
  Append(&cases,
         DurationCases(ok + "send: true ", "send_interval", "it must be from 1ms to 1h"));
  return cases;
}

std::vector<Case> CaptureCases() {
  std::vector<Case> cases = {
      {"interface: 'nosuch0'", kNotFound,
       R"(interface: no interface 'nosuch0' on this host (or "any"))"},
      {absl::StrCat("interface: '", Chars(100000), "'"), kNotFound,
       absl::StrCat("interface: no interface ", QuotedChars(100000))},
      {absl::StrCat("filter: '", Chars(4097), "'"), kInvalid,
       "filter: 4097 characters exceed the limit of 4096"},
      // Compiled by libpcap when the capture opens: still the RPC's status.
      {"interface: 'lo' filter: 'tcp and and udp'", kInvalid,
       "filter: 'tcp and and udp' does not compile: can't parse filter expression: "
       "syntax error"},
      {"interface: 'lo' filter: 'port 70000'", kInvalid,
       "filter: 'port 70000' does not compile: illegal port number 70000 > 65535"},
      {"snaplen: 0", kInvalid,
       "snaplen: 0 is out of range 1..262144 (leave it unset for the maximum)"},
      {"snaplen: 262145", kInvalid, "snaplen: 262145 is out of range 1..262144"},
      {"max_packets: 100000001", kInvalid,
       "max_packets: 100000001 is above the agent's limit of 100000000"},
      {"max_packets: 18446744073709551615", kInvalid,
       "max_packets: 18446744073709551615 is above the agent's limit of 100000000"},
      {"max_bytes: 17179869185", kInvalid,
       "max_bytes: 17179869185 is above the agent's limit of 17179869184"},
      {"duration { seconds: 86401 }", kInvalid,
       "duration: 24h1s is out of range: it must be from 0 to 24h"},
  };
  Append(&cases, DurationCases("", "duration", "it must be from 0 to 24h"));
  return cases;
}

std::vector<Case> SocketsCases() {
  std::vector<Case> cases = {
      {"family: 5", kInvalid, "family: 5 is not IPV4, IPV6 or unset"},
      {"port: 65536", kInvalid, "port: 65536 is out of range 0..65535 (0: any)"},
      {"local: '10.0.0.0/33'", kInvalid,
       "local: prefix length in '10.0.0.0/33' must be from 0 to 32"},
      {"local: '10.0.0.0/'", kInvalid,
       "local: prefix length in '10.0.0.0/' must be from 0 to 32"},
      {"local: '10.0.0.1/24'", kInvalid,
       "local: '10.0.0.1/24' has host bits set; the network is 10.0.0.0/24"},
      {"local: 'not-an-ip'", kInvalid,
       "local: 'not-an-ip' is not an address or CIDR prefix"},
      {"remote: '::1/129'", kInvalid,
       "remote: prefix length in '::1/129' must be from 0 to 128"},
      {"remote: '10.0.0.0/-1'", kInvalid,
       "remote: prefix length in '10.0.0.0/-1' must be from 0 to 32"},
      {absl::StrCat("remote: '", Chars(100000), "'"), kInvalid,
       absl::StrCat("remote: ", QuotedChars(100000),
                    " is not an address or CIDR prefix")},
      {"states: 'established' states: 'bogus'", kInvalid,
       "states[1]: unknown socket state 'bogus'; valid: established"},
      {absl::StrCat("states: '", Chars(100000), "'"), kInvalid,
       absl::StrCat("states[0]: unknown socket state ", QuotedChars(100000))},
      {"listening_only: true states: 'established'", kInvalid,
       "listening_only: give it or states, not both"},
      {"protocols: SOCKET_PROTOCOL_UNSPECIFIED", kInvalid,
       "protocols[0]: 0 is not TCP, UDP, RAW or UNIX"},
      {"protocols: SOCKET_PROTOCOL_TCP protocols: 9", kInvalid,
       "protocols[1]: 9 is not TCP, UDP, RAW or UNIX"},
      {"protocols: SOCKET_PROTOCOL_UNIX family: ADDRESS_FAMILY_IPV4", kInvalid,
       "protocols: UNIX with a family, address or port filter matches nothing"},
      {"protocols: SOCKET_PROTOCOL_UNIX port: 22", kInvalid,
       "protocols: UNIX with a family, address or port filter matches nothing"},
      {"watch_interval { nanos: 99999999 }", kInvalid,
       "watch_interval: 99.999999ms is out of range: it must be from 100ms (unset: one "
       "snapshot) to 1h"},
      {"watch_interval { seconds: 3601 }", kInvalid,
       "watch_interval: 1h1s is out of range"},
      {"watch_duration { seconds: 5 }", kInvalid, "watch_duration: needs watch_interval"},
      {"watch_interval { seconds: 1 } watch_duration { seconds: -1 }", kInvalid,
       "watch_duration: -1s is out of range"},
  };
  Append(&cases, DurationCases("", "watch_interval",
                               "it must be from 100ms (unset: one snapshot) to 1h"));
  return cases;
}

std::vector<Case> WatchResultsCases() {
  return {
      {"probes: 'nope'", kNotFound,
       "probes[0]: no scheduled probe named 'nope' (configured: none)"},
      {"probes: '' probes: 'nope'", kNotFound, "probes[0]: no scheduled probe named ''"},
  };
}

class BadInputTest : public ::testing::Test {
 protected:
  // Once per process, before any thread: a network namespace of our own,
  // inherited by every thread and child started after.
  static void SetUpTestSuite() {
    ASSERT_EQ(geteuid(), 0u) << "needs root (a network namespace of its own)";
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET): " << strerror(errno);
    const std::vector<std::vector<std::string>> setup = {
        {"ip", "link", "set", "lo", "up"},
        {"ip", "link", "add", kBroadcastIf, "type", "veth", "peer", "name", kNoAddressIf},
        {"ip", "addr", "add", "198.18.200.1/24", "brd", "+", "dev", kBroadcastIf},
        {"ip", "link", "set", kBroadcastIf, "up"},
        {"ip", "link", "set", kNoAddressIf, "up"},
    };
    for (const auto& argv : setup) {
      auto run = RunCommand(argv);
      ASSERT_THAT(run, IsOk());
      ASSERT_EQ(run->exit_code, 0) << argv[1] << " " << argv[2] << ": " << run->err;
    }
  }

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("netprobe-bad-input-", getpid());
    std::filesystem::create_directories(dir_);
    const std::string socket = absl::StrCat("unix:", (dir_ / "agent.sock").string());
    AgentOptions options;
    options.listen = {socket};
    options.shutdown_grace = absl::Seconds(3);
    // Broadcast and Capture are off by default: on, so their fields are checked.
    v1::Policy policy;
    for (const char* probe : Policy::ProbeNames()) policy.add_enabled_probes(probe);
    for (const char* right : Policy::RightNames()) policy.add_enabled_probes(right);
    auto built = Policy::Build(policy);
    ASSERT_THAT(built, IsOk());
    options.policy = *built;
    auto agent = AgentServer::Start(options);
    ASSERT_THAT(agent, IsOk());
    agent_ = *std::move(agent);
    auto channel = grpc::CreateChannel(socket, grpc::InsecureChannelCredentials());
    info_ = v1::Agent::NewStub(channel);
    probes_ = v1::Probes::NewStub(channel);
    results_ = v1::Results::NewStub(channel);
  }

  void TearDown() override {
    agent_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Sends `text` as a `Request` with `start` and returns how the stream ended.
  // A request the agent accepts by mistake is cancelled after its first
  // message, so the row fails on its status (CANCELLED) without running on.
  template <typename Request, typename Batch, typename Start>
  grpc::Status Stream(const std::string& text, Start start) {
    Request request;
    if (!google::protobuf::TextFormat::ParseFromString(text, &request)) {
      ADD_FAILURE() << "not a " << Request::descriptor()->full_name()
                    << " in text format";
      return grpc::Status(StatusCode::UNKNOWN, "the test's request does not parse");
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    auto reader = start(&context, request);
    Batch batch;
    if (reader->Read(&batch)) {
      context.TryCancel();
      while (reader->Read(&batch)) {
      }
    }
    return reader->Finish();
  }

  grpc::Status Call(Rpc rpc, const std::string& text) {
    switch (rpc) {
      case Rpc::kPing:
        return Stream<v1::PingRequest, v1::PingEvents>(
            text, [&](auto* c, const auto& r) { return probes_->Ping(c, r); });
      case Rpc::kTcpConnect:
        return Stream<v1::TcpConnectRequest, v1::TcpConnectEvents>(
            text, [&](auto* c, const auto& r) { return probes_->TcpConnect(c, r); });
      case Rpc::kUdpEcho:
        return Stream<v1::UdpEchoRequest, v1::UdpEchoEvents>(
            text, [&](auto* c, const auto& r) { return probes_->UdpEcho(c, r); });
      case Rpc::kBroadcast:
        return Stream<v1::BroadcastRequest, v1::BroadcastEvents>(
            text, [&](auto* c, const auto& r) { return probes_->Broadcast(c, r); });
      case Rpc::kMulticast:
        return Stream<v1::MulticastRequest, v1::MulticastEvents>(
            text, [&](auto* c, const auto& r) { return probes_->Multicast(c, r); });
      case Rpc::kCapture:
        return Stream<v1::CaptureRequest, v1::CaptureEvents>(
            text, [&](auto* c, const auto& r) { return probes_->Capture(c, r); });
      case Rpc::kSockets:
        return Stream<v1::SocketsRequest, v1::SocketsEvents>(
            text, [&](auto* c, const auto& r) { return probes_->Sockets(c, r); });
      case Rpc::kTraceroute:
        return Stream<v1::TracerouteRequest, v1::TracerouteEvents>(
            text, [&](auto* c, const auto& r) { return probes_->Traceroute(c, r); });
      case Rpc::kThroughput:
        return Stream<v1::ThroughputRequest, v1::ThroughputEvents>(
            text, [&](auto* c, const auto& r) { return probes_->Throughput(c, r); });
      case Rpc::kWatchResults:
        return Stream<v1::WatchResultsRequest, v1::WatchResultsEvents>(
            text, [&](auto* c, const auto& r) { return results_->WatchResults(c, r); });
    }
    return grpc::Status(StatusCode::UNKNOWN, "no such RPC");
  }

  // Every row, then the agent must still answer and probe.
  void RunTable(Rpc rpc, const std::vector<Case>& cases) {
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      SCOPED_TRACE(absl::StrCat("row ", i, ": ", c.request.substr(0, 160),
                                c.request.size() > 160 ? "..." : ""));
      const grpc::Status status = Call(rpc, c.request);
      EXPECT_EQ(status.error_code(), c.code) << status.error_message().substr(0, 500);
      EXPECT_THAT(status.error_message(), HasSubstr(c.message));
    }
    ExpectStillServing();
  }

  void ExpectStillServing() {
    {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      v1::AgentInfo info;
      const grpc::Status status = info_->GetInfo(&context, v1::GetInfoRequest(), &info);
      EXPECT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(info.pid(), static_cast<uint32_t>(getpid()));
    }
    v1::PingRequest ping;
    ping.add_targets("127.0.0.1");
    ping.set_count(1);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto reader = probes_->Ping(&context, ping);
    v1::PingEvents batch;
    int replies = 0;
    while (reader->Read(&batch)) {
      for (const v1::PingEvent& event : batch.events()) {
        replies +=
            event.has_reply() && event.reply().result().outcome() == v1::OUTCOME_OK;
      }
    }
    const grpc::Status status = reader->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(replies, 1) << "the agent no longer probes after the bad requests";
  }

  std::filesystem::path dir_;
  std::unique_ptr<AgentServer> agent_;
  std::unique_ptr<v1::Agent::Stub> info_;
  std::unique_ptr<v1::Probes::Stub> probes_;
  std::unique_ptr<v1::Results::Stub> results_;
};

TEST_F(BadInputTest, Ping) { RunTable(Rpc::kPing, PingCases()); }
TEST_F(BadInputTest, TcpConnect) { RunTable(Rpc::kTcpConnect, TcpConnectCases()); }
TEST_F(BadInputTest, UdpEcho) { RunTable(Rpc::kUdpEcho, UdpEchoCases()); }
TEST_F(BadInputTest, Broadcast) { RunTable(Rpc::kBroadcast, BroadcastCases()); }
TEST_F(BadInputTest, Multicast) { RunTable(Rpc::kMulticast, MulticastCases()); }
TEST_F(BadInputTest, Capture) { RunTable(Rpc::kCapture, CaptureCases()); }
TEST_F(BadInputTest, Sockets) { RunTable(Rpc::kSockets, SocketsCases()); }
TEST_F(BadInputTest, Traceroute) { RunTable(Rpc::kTraceroute, TracerouteCases()); }
TEST_F(BadInputTest, Throughput) { RunTable(Rpc::kThroughput, ThroughputCases()); }
TEST_F(BadInputTest, WatchResults) { RunTable(Rpc::kWatchResults, WatchResultsCases()); }

// A string field that is not UTF-8 fails to parse as proto3 requires: gRPC
// refuses the call before the agent sees it; the agent serves on.
TEST_F(BadInputTest, NonUtf8StringIsRefusedBeforeValidation) {
  v1::PingRequest request;
  request.add_targets("127.0.0.\xff");
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto reader = probes_->Ping(&context, request);
  v1::PingEvents batch;
  EXPECT_FALSE(reader->Read(&batch));
  const grpc::Status status = reader->Finish();
  // gRPC 1.51's callback server answers a request it cannot parse with
  // UNIMPLEMENTED and no message; INVALID_ARGUMENT would be the right code.
  EXPECT_THAT(status.error_code(),
              ::testing::AnyOf(StatusCode::INVALID_ARGUMENT, StatusCode::UNIMPLEMENTED));
  ExpectStillServing();
}

// Issue 16: Sockets and WatchResults go through the policy like the probes:
// a watch beyond limits.max_duration, and WatchResults where the policy does
// not enable it, are refused naming the rule.
TEST_F(BadInputTest, SocketsAndWatchResultsAreHeldToThePolicy) {
  v1::Policy policy;
  for (const char* probe : Policy::ProbeNames()) policy.add_enabled_probes(probe);
  policy.mutable_limits()->mutable_max_duration()->set_seconds(5);
  auto built = Policy::Build(policy);
  ASSERT_THAT(built, IsOk());
  AgentOptions options;
  options.policy = *built;
  agent_->Reload(options);
  RunTable(Rpc::kSockets,
           {{"watch_interval { seconds: 1 }", StatusCode::PERMISSION_DENIED,
             "policy.limits.max_duration: watch_duration unset (no end) is above the "
             "limit of 5s"},
            {"watch_interval { seconds: 1 } watch_duration { seconds: 6 }",
             StatusCode::PERMISSION_DENIED,
             "policy.limits.max_duration: watch_duration 6s is above the limit of 5s"}});
  RunTable(Rpc::kWatchResults, {{"", StatusCode::PERMISSION_DENIED,
                                 "policy: WatchResults is not enabled on this agent"}});
}

// A name quoted in full would take the message past gRPC's 8 KiB metadata
// limit and turn the answer into RESOURCE_EXHAUSTED.
TEST_F(BadInputTest, WatchResultsQuotesAHugeNameShort) {
  RunTable(Rpc::kWatchResults, {{absl::StrCat("probes: '", Chars(100000), "'"), kNotFound,
                                 "probes[0]: no scheduled probe named"}});
}

// The table's size, for the README: every RPC has rows.
TEST(BadInputTable, CoversEveryRpc) {
  const size_t rows = PingCases().size() + TcpConnectCases().size() +
                      UdpEchoCases().size() + BroadcastCases().size() +
                      MulticastCases().size() + CaptureCases().size() +
                      SocketsCases().size() + WatchResultsCases().size();
  RecordProperty("rows", static_cast<int>(rows));
  EXPECT_GE(rows, 200u);
}

}  // namespace
}  // namespace netprobe::testing
