#ifndef NETPROBE_CLIENT_EXIT_CODES_H_
#define NETPROBE_CLIENT_EXIT_CODES_H_

#include <grpcpp/support/status.h>

namespace netprobe::client {

// The CLI's exit codes (documented in the README).
enum ExitCode : int {
  kExitOk = 0,
  kExitProbeFailed = 1,       // the probe ran; some target did not answer
  kExitBadArguments = 2,      // rejected locally or by the agent (INVALID_ARGUMENT, ...)
  kExitAgentUnreachable = 3,  // no connection to the agent, or it went away
  kExitAgentError = 4,        // the agent refused or could not run the request
  kExitNotAuthenticated = 5,  // TLS handshake failed or the token was refused
  kExitPartialFailure = 6,    // many agents: some failed (2-5), others answered
  kExitDeadline = 7,          // --timeout ended the run; its statistics were printed
  kExitInterrupted = 130,     // SIGINT/SIGTERM, like a shell's 128 + SIGINT
};

// How a failed RPC maps to an exit code. TLS handshake failures arrive as
// UNAVAILABLE; ReportRpcError() tells them apart (kExitNotAuthenticated).
inline ExitCode ExitCodeFor(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::OUT_OF_RANGE:
      return kExitBadArguments;
    case grpc::StatusCode::UNAVAILABLE:
    // The agent ends a stream with its statistics before the deadline
    // (kExitDeadline); DEADLINE_EXCEEDED means it did not answer in time.
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitAgentUnreachable;
    case grpc::StatusCode::UNAUTHENTICATED:
      return kExitNotAuthenticated;
    default:
      return kExitAgentError;
  }
}

// A few words for an exit code, for the line that names failed agents.
inline const char* ExitCodeMeaning(int code) {
  switch (code) {
    case kExitOk:
      return "ok";
    case kExitProbeFailed:
      return "probe failed";
    case kExitBadArguments:
      return "bad arguments";
    case kExitAgentUnreachable:
      return "agent unreachable";
    case kExitAgentError:
      return "agent refused or failed the request";
    case kExitNotAuthenticated:
      return "not authenticated";
    case kExitPartialFailure:
      return "some agents failed";
    case kExitDeadline:
      return "deadline reached";
    case kExitInterrupted:
      return "interrupted";
    default:
      return "failed";
  }
}

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_EXIT_CODES_H_
