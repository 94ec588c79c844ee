#include "client/field_flags.h"

#include <span>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace netprobe::client {
namespace {

struct FieldFlag {
  const char* field;
  const char* flag;
};

// The socket options every sending probe's -t/-Q/-I set (socket_args.cc).
constexpr FieldFlag kSocketFields[] = {
    {"options.ttl", "-t/--ttl"},
    {"options.tos", "-Q/--tos"},
    {"options.interface", "-I/--interface"},
    {"options.source_address", "-I/--interface"},
    {"family", "-4/-6"},
};

constexpr FieldFlag kPing[] = {
    {"count", "-c/--count"},         {"interval", "-i/--interval"},
    {"timeout", "-W/--wait"},        {"deadline", "-w/--deadline"},
    {"size", "-s/--size"},           {"rate_limit", "--rate"},
    {"options.dont_fragment", "-M"},
};
constexpr FieldFlag kTcp[] = {
    {"count", "-c/--count"},    {"interval", "-i/--interval"},
    {"timeout", "-W/--wait"},   {"concurrency", "--concurrency"},
    {"send_payload", "--send"}, {"read_bytes", "--read"},
};
constexpr FieldFlag kUdp[] = {
    {"count", "-c/--count"},
    {"interval", "-i/--interval"},
    {"timeout", "-W/--wait"},
    {"size", "-s/--size"},
};
constexpr FieldFlag kMcast[] = {
    {"interface", "-I/--interface"},
    {"source", "--source"},
    {"count", "-c/--count"},
    {"duration", "--duration"},
    {"max_payload", "--max-payload"},
    {"send_payload", "--payload"},
    {"send_interval", "--send-interval"},
    {"send_ttl", "-t/--ttl"},
};
constexpr FieldFlag kCapture[] = {
    {"interface", "-i/--interface"}, {"snaplen", "-s/--snapshot-length"},
    {"max_packets", "-c/--count"},   {"duration", "--duration"},
    {"max_bytes", "--max-bytes"},    {"filter", "the filter expression"},
};
constexpr FieldFlag kSockets[] = {
    {"states", "--state"},         {"local", "--src"},
    {"remote", "--dst"},           {"port", "--port"},
    {"local_port", "sport"},       {"remote_port", "dport"},
    {"watch_interval", "--watch"}, {"watch_duration", "--duration"},
    {"family", "-4/-6"},
};
constexpr FieldFlag kBroadcast[] = {
    {"interface", "-I/--interface"}, {"port", "-p/--port"},    {"address", "--address"},
    {"window", "-w/--window"},       {"payload", "--payload"},
};

constexpr FieldFlag kTraceroute[] = {
    {"port", "-p/--port"},
    {"first_ttl", "-f/--first"},
    {"max_ttl", "-m/--max-hops"},
    {"probes_per_hop", "-q/--queries"},
    {"wait", "-w/--wait"},
    {"flows", "--flows"},
    {"packet_length", "PACKETLEN"},
    {"method", "-I/-U"},
    {"options.tos", "-t/--tos"},
    {"options.interface", "-i/--interface"},
    {"options.source_address", "-s/--source"},
    {"family", "-4/-6"},
};

constexpr FieldFlag kThroughput[] = {
    {"duration", "-t/--time"},
    {"bytes", "-n/--bytes"},
    {"parallel", "-P/--parallel"},
    {"direction", "-R/--bidir"},
    {"window", "-w/--window"},
    {"congestion", "-C/--congestion"},
    {"mss", "-M/--set-mss"},
    {"bitrate", "-b/--bitrate"},
    {"length", "-l/--length"},
    {"interval", "-i/--interval"},
    {"omit", "-O/--omit"},
    {"options.tos", "-S/--tos"},
    {"options.interface", "-I/--interface"},
    {"options.source_address", "-I/-B"},
    {"options.source_port", "--cport"},
    {"options.send_buffer", "--sndbuf"},
    {"options.receive_buffer", "--rcvbuf"},
    {"family", "-4/-6"},
};

struct CommandFields {
  const char* command;
  std::span<const FieldFlag> fields;
  bool socket_options;  // -t/-Q/-I/-4/-6 set its `options` and `family`
};

constexpr CommandFields kCommands[] = {
    {"ping", kPing, true},
    {"tcp", kTcp, true},
    {"udp", kUdp, true},
    {"mcast", kMcast, false},
    {"capture", kCapture, false},
    {"sockets", kSockets, false},
    {"broadcast", kBroadcast, false},
    {"traceroute", kTraceroute, false},
    {"throughput", kThroughput, false},
};

std::string Find(std::span<const FieldFlag> table, absl::string_view field) {
  for (const FieldFlag& entry : table) {
    if (field == entry.field) return entry.flag;
  }
  return "";
}

}  // namespace

std::string FlagForAgentMessage(absl::string_view command, absl::string_view message) {
  const size_t colon = message.find(':');
  if (colon == absl::string_view::npos || colon == 0) return "";
  absl::string_view field = message.substr(0, colon);
  // "targets[2]" is the third HOST (or HOST:PORT) argument.
  if (absl::StartsWith(field, "targets[") && absl::EndsWith(field, "]")) {
    size_t index = 0;
    if (!absl::SimpleAtoi(field.substr(8, field.size() - 9), &index)) return "";
    return command == "udp" ? "" : absl::StrCat("target argument ", index + 1);
  }
  if (field == "targets" || field == "target") return "the target arguments";
  for (const CommandFields& entry : kCommands) {
    if (command != entry.command) continue;
    std::string flag = Find(entry.fields, field);
    if (flag.empty() && entry.socket_options) flag = Find(kSocketFields, field);
    return flag;
  }
  return "";
}

}  // namespace netprobe::client
