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
  if (std::max(rwnd, sndbuf) >= 0.2) {
    if (sndbuf >= rwnd) {
      v.limit = v1::THROUGHPUT_LIMIT_SEND_BUFFER;
      v.detail = absl::StrFormat(
          "the sender's socket buffer (SO_SNDBUF) was full of unacknowledged data "
          "%.0f%% of the time while the congestion window had room: a larger send "
          "buffer (-w / --sndbuf) goes faster",
          sndbuf * 100);
    } else {
      v.limit = v1::THROUGHPUT_LIMIT_RECEIVE_WINDOW;
      v.detail = absl::StrFormat(
          "the receiver's advertised window was full %.0f%% of the time: a larger "
          "receive buffer at the far end (-w) goes faster",
          rwnd * 100);
    }
  } else if (busy < 0.5) {
    v.limit = v1::THROUGHPUT_LIMIT_APPLICATION;
    v.detail = absl::StrFormat(
        "the sender had data in flight only %.0f%% of the time: it was held back by "
        "its bitrate (-b) or could not write faster",
        busy * 100);
  } else {
    v.limit = v1::THROUGHPUT_LIMIT_NETWORK;
    v.detail = absl::StrFormat(
        "neither buffer held the sender back (send buffer %.0f%%, receive window "
        "%.0f%% of the time): the congestion window, i.e. the path's capacity or "
        "its losses, set the pace",
        sndbuf * 100, rwnd * 100);
  }
  return v;
}

}  // namespace netprobe
