#ifndef NETPROBE_AGENT_PROBES_ATTEMPT_SENT_H_
#define NETPROBE_AGENT_PROBES_ATTEMPT_SENT_H_

#include <cstdint>

#include "absl/time/time.h"
#include "common/proto_time.h"
#include "netprobe/v1/common.pb.h"

namespace netprobe {

// The AttemptSent event of a probe that reports its sends (report_sends):
// emitted as an attempt starts, before its outcome event, for every attempt,
// those the kernel refuses at once included, so a client's count of them is
// the "transmitted" of ping. `Event` has a `sent` (v1::AttemptSent) field.
template <typename Event>
Event AttemptSentEvent(v1::Endpoint target, uint32_t sequence, absl::Time time) {
  Event event;
  v1::AttemptSent* sent = event.mutable_sent();
  *sent->mutable_target() = std::move(target);
  sent->set_sequence(sequence);
  ToProto(time, sent->mutable_time());
  return event;
}

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_ATTEMPT_SENT_H_
