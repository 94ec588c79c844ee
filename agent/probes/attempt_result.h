#ifndef NETPROBE_AGENT_PROBES_ATTEMPT_RESULT_H_
#define NETPROBE_AGENT_PROBES_ATTEMPT_RESULT_H_

#include <cstdint>
#include <string>

#include "netprobe/v1/common.pb.h"

namespace netprobe {

// Classifies an errno from a socket (connect, SO_ERROR, send, the error
// queue) as the outcome of an attempt, with its name and a sentence.
v1::AttemptResult ResultFromErrno(int err);

// Classifies an ICMP (v6: ICMPv6) error by type and code, with the address of
// the router or host that sent it.
v1::AttemptResult ResultFromIcmpError(bool v6, uint8_t type, uint8_t code,
                                      const std::string& reported_by);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_ATTEMPT_RESULT_H_
