#ifndef NETPROBE_AGENT_SCHEDULE_FIXED_RATE_H_
#define NETPROBE_AGENT_SCHEDULE_FIXED_RATE_H_

#include "absl/time/time.h"

namespace netprobe {

// Fixed rate: the run after one due at `due` is due an interval later,
// however late this one fired; runs missed meanwhile (due at or before
// `now`) are skipped, not bunched. REQUIRES: interval > 0.
inline absl::Duration NextDue(absl::Duration due, absl::Duration interval,
                              absl::Duration now) {
  do {
    due += interval;
  } while (due <= now);
  return due;
}

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SCHEDULE_FIXED_RATE_H_
