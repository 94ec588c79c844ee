#ifndef NETPROBE_CLIENT_STREAM_END_EXIT_H_
#define NETPROBE_CLIENT_STREAM_END_EXIT_H_

#include "client/exit_codes.h"
#include "netprobe/v1/common.pb.h"

namespace netprobe::client {

// What a stream's StreamEnd does to a command's exit code (README, "Exit
// codes"): a run the agent's shutdown cut short exits 3, as when the agent
// goes away; one the call's deadline (--timeout) ended exits 7 after its
// statistics, unless the deadline was the command's own (ping -w), whose
// exit code is then the probe's.
class StreamEndExit {
 public:
  void Note(const v1::StreamEnd& end) { reason_ = end.reason(); }
  bool deadline() const { return reason_ == v1::StreamEnd::REASON_DEADLINE; }
  bool shutdown() const { return reason_ == v1::StreamEnd::REASON_AGENT_SHUTDOWN; }
  // `probe_exit`: the command's code for what it measured (0 or 1).
  int Exit(int probe_exit, bool own_deadline = false) const {
    if (shutdown()) return kExitAgentUnreachable;
    if (deadline() && !own_deadline) return kExitDeadline;
    return probe_exit;
  }

 private:
  v1::StreamEnd::Reason reason_ = v1::StreamEnd::REASON_UNSPECIFIED;
};

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_STREAM_END_EXIT_H_
