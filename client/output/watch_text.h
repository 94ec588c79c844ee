#ifndef NETPROBE_CLIENT_OUTPUT_WATCH_TEXT_H_
#define NETPROBE_CLIENT_OUTPUT_WATCH_TEXT_H_

#include <string>

#include "netprobe/v1/schedule.pb.h"

namespace netprobe::client {

// One scheduled run's result for one target, on one line: its start (UTC,
// milliseconds), probe name, run number, then the target's fping-style
// summary and the probe's labels, e.g.
//   2026-12-04T21:03:04.123Z loopback-ping #3 127.0.0.1 : xmt/rcv/%loss =
//   3/3/0%, min/avg/max = 0.021/0.030/0.040 {site="lab"}
// (one line); a run that could not start says `error: ...` in place of the
// summary.
std::string FormatScheduledResult(const v1::ScheduledResult& result);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_WATCH_TEXT_H_
