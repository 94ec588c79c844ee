// Fixture: the policy layer stays free of gRPC.
#include <grpcpp/grpcpp.h>
