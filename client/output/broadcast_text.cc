#include "client/output/broadcast_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/output/tcp_text.h"
#include "common/proto_time.h"

namespace netprobe::client {
namespace {

constexpr size_t kShownPayload = 64;

std::string Plural(uint64_t n, const char* one, const char* many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

std::string Escaped(const std::string& bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < kShownPayload; ++i) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\", std::string(1, static_cast<char>(c)));
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    }
  }
  if (bytes.size() > kShownPayload) out += "...";
  return out;
}

}  // namespace

std::string FormatBroadcastSent(const v1::BroadcastSent& s) {
  const std::string to = absl::StrCat(s.interface(), " ", s.destination().address(), ":",
                                      s.destination().port());
  const v1::AttemptResult& r = s.result();
  if (r.outcome() != v1::OUTCOME_OK) {
    return absl::StrCat("broadcast: ", to, ": send failed: ", r.error(),
                        r.error().empty() ? "" : " ", r.detail(), "\n");
  }
  return absl::StrFormat("BROADCAST %s from port %d: %d bytes, window %s\n", to,
                         s.local_port(), s.bytes(),
                         absl::FormatDuration(FromProto(s.window())));
}

std::string FormatBroadcastReply(const v1::BroadcastReply& r) {
  std::string line =
      absl::StrFormat("%d bytes from %s:%d: time=%s ms", r.bytes(),
                      r.responder().address(), r.responder().port(), Millis(r.rtt()));
  if (r.ttl() != 0) absl::StrAppend(&line, " ttl=", r.ttl());
  if (r.echo()) {
    absl::StrAppend(&line, " echo");
  } else {
    absl::StrAppend(&line, " payload \"", Escaped(r.payload()), "\"");
  }
  return line + "\n";
}

std::string FormatBroadcastSummary(const v1::BroadcastSummary& s) {
  std::string out =
      absl::StrCat(Plural(s.replies(), "reply", "replies"), " from ",
                   Plural(s.distinct_responders(), "responder", "responders"));
  if (s.kernel_drops() > 0)
    absl::StrAppend(&out, "; ", s.kernel_drops(), " dropped by the kernel");
  if (s.icmp_errors() > 0) {
    absl::StrAppend(&out, "; ", Plural(s.icmp_errors(), "ICMP error", "ICMP errors"),
                    " ignored");
  }
  return out + "\n";
}

}  // namespace netprobe::client
