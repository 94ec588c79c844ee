#ifndef NETPROBE_AGENT_PROBES_ATTEMPT_RESULT_H_
#define NETPROBE_AGENT_PROBES_ATTEMPT_RESULT_H_

#include "netprobe/v1/common.pb.h"

namespace netprobe {

// Classifies an errno from a socket (connect, SO_ERROR, send, the error
// queue) as the outcome of an attempt, with its name and a sentence.
v1::AttemptResult ResultFromErrno(int err);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_ATTEMPT_RESULT_H_
