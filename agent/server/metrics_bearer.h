#ifndef NETPROBE_AGENT_SERVER_METRICS_BEARER_H_
#define NETPROBE_AGENT_SERVER_METRICS_BEARER_H_

#include <string>

#include "absl/status/statusor.h"
#include "agent/metrics/http_access.h"

namespace netprobe {

// The metrics endpoint's bearer token check from `token_file` (token_auth.h's
// format: NAME TOKEN per line); null for an empty path. The file is looked at
// (stat) on every check and read again when it changed; a bad read keeps the
// tokens before it (logged once). INVALID_ARGUMENT names --metrics-token-file.
absl::StatusOr<metrics::HttpAccess::BearerCheck> MetricsBearerCheck(
    const std::string& token_file);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_METRICS_BEARER_H_
