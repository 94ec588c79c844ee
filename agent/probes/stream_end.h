#ifndef NETPROBE_AGENT_PROBES_STREAM_END_H_
#define NETPROBE_AGENT_PROBES_STREAM_END_H_

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "common/proto_time.h"
#include "netprobe/v1/common.pb.h"

namespace netprobe {

// The StreamEnd every probe sends before its summaries when the agent shuts
// down; `detail` says what happened to work in flight.
inline void FillShutdownEnd(absl::string_view detail, v1::StreamEnd* end) {
  end->set_reason(v1::StreamEnd::REASON_AGENT_SHUTDOWN);
  end->set_detail(std::string(detail));
  ToProto(absl::Now(), end->mutable_time());
}

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_STREAM_END_H_
