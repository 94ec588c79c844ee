#ifndef NETPROBE_CLIENT_EXTCAP_EXTCAP_RUN_H_
#define NETPROBE_CLIENT_EXTCAP_EXTCAP_RUN_H_

#include <cstdio>
#include <string>

#include "absl/time/time.h"
#include "client/agent_channel.h"
#include "client/extcap/extcap_setup.h"

namespace netprobe::client::extcap {

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and every thread
// created after it, and ignores SIGPIPE (a closed fifo is EPIPE). main()
// calls it first, before gRPC starts threads. A signal stops the running
// capture (RunCapture), and otherwise ends the process.
void BlockStopSignals();

// --extcap-interfaces: the extcap line, then each reachable agent's "any"
// and interfaces, from GetInfo asked of all agents at once with `deadline`.
// An agent that does not answer, refuses, or cannot capture is left out
// with a line on `err`. Returns the exit code (0 unless the output failed).
int ListInterfaces(const AgentsConfig& config, const ChannelSecurity& security,
                   absl::Duration deadline, FILE* out, FILE* err);

// After a capture failed before its fifo was opened: opens and closes the
// fifo's write end, so that a reader already waiting in open() (Wireshark's
// dumpcap) sees the end of the stream instead of waiting for ever; waits up
// to a second for a reader that is still starting.
void ReleaseFifoReader(const std::string& fifo);

struct CaptureSetup {
  AgentSpec agent;    // name from the config; address possibly from --agent
  std::string iface;  // on the agent
  std::string fifo;
  ChannelSecurity security;
  ParsedOptions options;  // --snaplen, --promiscuous, --own-traffic, filter
  // How long the agent has to start the capture (its CaptureHeader).
  absl::Duration first_answer = absl::Seconds(5);
};

// --capture: streams the agent's capture as pcapng into the fifo, flushed per
// batch, until SIGTERM/SIGINT, the fifo's reader going away, or the agent
// ending it; then cancels the agent's capture and ends the stream with an
// Interface Statistics Block holding the agent's last counts and drops.
// Every failure is one line on `err` and a non-zero exit: the agent cannot
// be reached or does not start the capture within `first_answer`, refuses
// it (its message: a bad filter, a missing interface, policy).
// REQUIRES: BlockStopSignals() was called at start.
int RunCapture(const CaptureSetup& setup, FILE* err);

}  // namespace netprobe::client::extcap

#endif  // NETPROBE_CLIENT_EXTCAP_EXTCAP_RUN_H_
