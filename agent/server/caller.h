#ifndef NETPROBE_AGENT_SERVER_CALLER_H_
#define NETPROBE_AGENT_SERVER_CALLER_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "agent/policy/caller.h"

namespace netprobe {

// The caller of a gRPC call (agent/policy/caller.h has no gRPC in it).
Caller CallerOf(const grpc::ServerContextBase& context);

// Caller::identity from a call's auth context.
std::string IdentityOf(const grpc::AuthContext& auth);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_CALLER_H_
