#include "agent/probes/throughput_limit.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace netprobe {
namespace {

double Share(absl::Duration part, absl::Duration whole) {
  if (whole <= absl::ZeroDuration()) return 0;
  return std::clamp(absl::FDivDuration(part, whole), 0.0, 1.0);
}

}  // namespace

LimitVerdict JudgeLimit(const SenderTimes& t) {
  LimitVerdict v;
  if (t.elapsed <= absl::ZeroDuration()) return v;
  const double rwnd = Share(t.rwnd_limited, t.elapsed);
  const double sndbuf = Share(t.sndbuf_limited, t.elapsed);
  const double busy = Share(t.busy, t.elapsed);
  const std::string shares = absl::StrFormat(
      "send buffer %.0f%%, receive window %.0f%%, busy %.0f%% of the time", sndbuf * 100,
      rwnd * 100, busy * 100);
  if (std::max(rwnd, sndbuf) >= 0.2) {
    if (sndbuf >= rwnd) {
      v.limit = v1::THROUGHPUT_LIMIT_SEND_BUFFER;
      v.detail = absl::StrFormat(
          "limited by the send buffer (SO_SNDBUF): %s; a larger send buffer "
          "(window) would go faster",
          shares);
    } else {
      v.limit = v1::THROUGHPUT_LIMIT_RECEIVE_WINDOW;
      v.detail = absl::StrFormat(
          "limited by the receiver's window: %s; a larger receive buffer at the far end "
          "(window) would go faster",
          shares);
    }
  } else if (busy < 0.5) {
    v.limit = v1::THROUGHPUT_LIMIT_APPLICATION;
    v.detail = absl::StrFormat(
        "limited by the sender itself: it had nothing to send most of the time (a "
        "bitrate cap); %s",
        shares);
  } else {
    v.limit = v1::THROUGHPUT_LIMIT_NETWORK;
    v.detail = absl::StrFormat(
        "limited by the network (congestion window, the path's capacity): %s", shares);
  }
  return v;
}

}  // namespace netprobe
