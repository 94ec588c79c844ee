#ifndef NETPROBE_AGENT_SERVER_GRPC_STATUS_H_
#define NETPROBE_AGENT_SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace netprobe {

// The one place absl::Status becomes grpc::Status. The code numbers are the
// same in both; the message is kept as it is.
inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_GRPC_STATUS_H_
