#include "agent/net/sockstat.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/net/small_file.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

int64_t* Field(Sockstat* s, absl::string_view key, absl::string_view name) {
  struct Entry {
    const char* key;
    const char* name;
    int64_t Sockstat::*field;
  };
  static constexpr Entry kFields[] = {
      {"sockets:", "used", &Sockstat::sockets_used},
      {"TCP:", "inuse", &Sockstat::tcp_inuse},
      {"TCP:", "orphan", &Sockstat::tcp_orphan},
      {"TCP:", "tw", &Sockstat::tcp_tw},
      {"TCP:", "alloc", &Sockstat::tcp_alloc},
      {"TCP:", "mem", &Sockstat::tcp_mem},
      {"UDP:", "inuse", &Sockstat::udp_inuse},
      {"RAW:", "inuse", &Sockstat::raw_inuse},
      {"FRAG:", "inuse", &Sockstat::frag_inuse},
      {"FRAG:", "memory", &Sockstat::frag_memory},
      {"TCP6:", "inuse", &Sockstat::tcp6_inuse},
      {"UDP6:", "inuse", &Sockstat::udp6_inuse},
      {"RAW6:", "inuse", &Sockstat::raw6_inuse},
      {"FRAG6:", "inuse", &Sockstat::frag6_inuse},
  };
  for (const Entry& e : kFields) {
    if (key == e.key && name == e.name) return &(s->*e.field);
  }
  return nullptr;
}

}  // namespace

absl::Status ParseSockstat(absl::string_view text, Sockstat* out) {
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> words =
        absl::StrSplit(line, ' ', absl::SkipWhitespace());
    if (words.empty()) continue;
    for (size_t i = 1; i + 1 < words.size(); i += 2) {
      int64_t* field = Field(out, words[0], words[i]);
      if (field == nullptr) continue;
      if (!absl::SimpleAtoi(words[i + 1], field)) {
        return absl::InvalidArgumentError(absl::StrCat("sockstat: ", words[0], " ",
                                                       words[i], " '", words[i + 1],
                                                       "' is not a number"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ParseSnmpTcp(absl::string_view text, Sockstat* out) {
  std::vector<std::vector<absl::string_view>> tcp;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "Tcp:")) {
      tcp.push_back(absl::StrSplit(line, ' ', absl::SkipWhitespace()));
    }
  }
  if (tcp.size() != 2 || tcp[0].size() != tcp[1].size()) {
    return absl::InvalidArgumentError(
        "snmp: no Tcp: names and values lines that match up");
  }
  for (size_t i = 1; i < tcp[0].size(); ++i) {
    if (tcp[0][i] != "CurrEstab") continue;
    if (!absl::SimpleAtoi(tcp[1][i], &out->tcp_curr_estab)) {
      return absl::InvalidArgumentError(
          absl::StrCat("snmp: Tcp CurrEstab '", tcp[1][i], "' is not a number"));
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("snmp: Tcp has no CurrEstab");
}

absl::StatusOr<Sockstat> ReadSockstat(const std::string& proc_net) {
  Sockstat out;
  NETPROBE_ASSIGN_OR_RETURN(std::string v4, ReadSmallFile(proc_net + "/sockstat"));
  NETPROBE_RETURN_IF_ERROR(ParseSockstat(v4, &out));
  absl::StatusOr<std::string> v6 = ReadSmallFile(proc_net + "/sockstat6");
  if (v6.ok()) {
    NETPROBE_RETURN_IF_ERROR(ParseSockstat(*v6, &out));
  } else if (!absl::IsNotFound(v6.status())) {
    return v6.status();
  }
  NETPROBE_ASSIGN_OR_RETURN(std::string snmp, ReadSmallFile(proc_net + "/snmp"));
  NETPROBE_RETURN_IF_ERROR(ParseSnmpTcp(snmp, &out));
  return out;
}

}  // namespace netprobe
