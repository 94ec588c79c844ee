#include "client/output/tcp_text.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace netprobe::client {
namespace {

std::string Target(const v1::Endpoint& endpoint) {
  const bool v6_literal = endpoint.host().find(':') != std::string::npos;
  std::string out = v6_literal ? absl::StrCat("[", endpoint.host(), "]:", endpoint.port())
                               : absl::StrCat(endpoint.host(), ":", endpoint.port());
  if (!endpoint.address().empty()) absl::StrAppend(&out, " (", endpoint.address(), ")");
  return out;
}

std::string OutcomeWord(v1::Outcome outcome) {
  std::string name = v1::Outcome_Name(outcome);
  absl::string_view word = name;
  absl::ConsumePrefix(&word, "OUTCOME_");
  std::string out = absl::AsciiStrToLower(word);
  absl::StrReplaceAll({{"_", " "}}, &out);
  return out;
}

}  // namespace

std::string Millis(const google::protobuf::Duration& d) {
  return absl::StrFormat("%.3f", d.seconds() * 1e3 + d.nanos() / 1e6);
}

std::string FormatTcpAttempt(const v1::TcpAttempt& a) {
  const v1::AttemptResult& r = a.result();
  std::string line;
  switch (r.outcome()) {
    case v1::OUTCOME_OK:
      line = absl::StrFormat("connected to %s: seq=%d time=%s ms", Target(a.target()),
                             a.sequence(), Millis(a.connect_time()));
      if (!a.local_address().empty()) {
        const bool v6 = a.local_address().find(':') != std::string::npos;
        absl::StrAppendFormat(&line, v6 ? " local=[%s]:%d" : " local=%s:%d",
                              a.local_address(), a.local_port());
      }
      break;
    case v1::OUTCOME_TIMEOUT:
      line = absl::StrFormat("timeout to %s: seq=%d %s", Target(a.target()), a.sequence(),
                             r.detail());
      break;
    case v1::OUTCOME_REFUSED:
      line = absl::StrFormat("refused by %s: seq=%d time=%s ms", Target(a.target()),
                             a.sequence(), Millis(a.connect_time()));
      break;
    default:
      line = absl::StrFormat("%s to %s: seq=%d", OutcomeWord(r.outcome()),
                             Target(a.target()), a.sequence());
      // As udp and ping name it: the router or host the ICMP error came from.
      if (!r.reported_by().empty()) absl::StrAppend(&line, " from ", r.reported_by());
      if (a.has_connect_time())
        absl::StrAppend(&line, " time=", Millis(a.connect_time()), " ms");
      if (!r.error().empty())
        absl::StrAppend(&line, " (", r.error(), ": ", r.detail(), ")");
      else if (!r.detail().empty())
        absl::StrAppend(&line, " (", r.detail(), ")");
  }
  absl::StrAppend(&line, "\n");
  if (a.has_tcp_info()) {
    const v1::TcpInfo& t = a.tcp_info();
    absl::StrAppendFormat(
        &line,
        "  tcp_info: state=%s rtt=%s/%s ms mss=%d/%d pmtu=%d cwnd=%d ssthresh=%d "
        "retrans=%d/%d congestion=%s\n",
        t.state(), Millis(t.rtt()), Millis(t.rttvar()), t.snd_mss(), t.rcv_mss(),
        t.pmtu(), t.snd_cwnd(), t.snd_ssthresh(), t.retransmits(), t.total_retrans(),
        t.congestion());
  }
  if (!a.banner().empty()) {
    std::string shown;
    for (char c : a.banner()) {
      shown += (c >= 0x20 && c < 0x7f) ? std::string(1, c)
                                       : absl::StrFormat("\\x%02x", c & 0xff);
    }
    absl::StrAppend(&line, "  banner: ", shown, "\n");
  }
  return line;
}

std::string TcpScanState(const v1::AttemptResult& r) {
  switch (r.outcome()) {
    case v1::OUTCOME_OK:
      return "open";
    case v1::OUTCOME_REFUSED:
      return "closed";
    case v1::OUTCOME_TIMEOUT:
    case v1::OUTCOME_PROHIBITED:
      return "filtered";
    default:
      return OutcomeWord(r.outcome());
  }
}

std::string FormatTcpScanLine(const v1::TcpAttempt& a) {
  const v1::AttemptResult& r = a.result();
  std::string line = absl::StrCat(Target(a.target()), " ", TcpScanState(r));
  if (r.outcome() == v1::OUTCOME_OK) {
    absl::StrAppend(&line, " ", Millis(a.connect_time()), " ms");
  } else if (r.outcome() != v1::OUTCOME_REFUSED) {
    std::string why =
        r.outcome() == v1::OUTCOME_TIMEOUT ? r.detail() : OutcomeWord(r.outcome());
    if (!r.reported_by().empty()) absl::StrAppend(&why, " from ", r.reported_by());
    if (!why.empty()) absl::StrAppend(&line, " (", why, ")");
  }
  return line + "\n";
}

std::string FormatTcpSummary(const v1::TargetSummary& s) {
  std::string out =
      absl::StrFormat("--- %s tcp connect statistics ---\n", Target(s.target()));
  absl::StrAppendFormat(&out, "%d attempts, %d connected, %.1f%% failed", s.sent(),
                        s.received(), s.loss_percent());
  std::vector<std::string> failures;
  for (const auto& [name, n] : s.outcomes()) {
    if (name == "OUTCOME_OK") continue;
    failures.push_back(absl::StrCat(absl::StripPrefix(name, "OUTCOME_"), " ", n));
  }
  std::sort(failures.begin(), failures.end());
  if (!failures.empty()) absl::StrAppend(&out, " (", absl::StrJoin(failures, ", "), ")");
  absl::StrAppend(&out, "\n");
  if (s.rtt().count() > 0) {
    absl::StrAppendFormat(&out, "connect min/avg/max/mdev = %s/%s/%s/%s ms\n",
                          Millis(s.rtt().min()), Millis(s.rtt().avg()),
                          Millis(s.rtt().max()), Millis(s.rtt().stddev()));
  }
  return out;
}

std::string FormatDropped(const v1::Dropped& d) {
  return absl::StrFormat("!! %d events dropped by the agent (%d in all): %s\n", d.count(),
                         d.total(), d.reason());
}

std::string FormatStreamEnd(const v1::StreamEnd& end) {
  std::string reason = v1::StreamEnd::Reason_Name(end.reason());
  return absl::StrCat("!! stream ended early: ", absl::StripPrefix(reason, "REASON_"),
                      end.detail().empty() ? "" : absl::StrCat(": ", end.detail()), "\n");
}

}  // namespace netprobe::client
