#ifndef NETPROBE_COMMON_POSIX_ERROR_H_
#define NETPROBE_COMMON_POSIX_ERROR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace netprobe {

// The symbolic name of an errno value ("ECONNREFUSED"), or "E<number>".
std::string ErrnoName(int err);

// A Status for a failed system call, with its context:
//   PosixError("connect(198.18.0.2:80)", errno)
//   -> UNAVAILABLE "connect(198.18.0.2:80): ECONNREFUSED Connection refused"
// The code follows absl::ErrnoToStatus.
absl::Status PosixError(absl::string_view context, int err);

}  // namespace netprobe

// Evaluates `expr` (an absl::Status) and returns it from the enclosing function
// when it is not OK.
#define NETPROBE_RETURN_IF_ERROR(expr)                    \
  do {                                                    \
    if (absl::Status _st = (expr); !_st.ok()) return _st; \
  } while (0)

#define NETPROBE_CONCAT_INNER_(a, b) a##b
#define NETPROBE_CONCAT_(a, b) NETPROBE_CONCAT_INNER_(a, b)
// `NETPROBE_ASSIGN_OR_RETURN(auto x, StatusOrExpr());`
#define NETPROBE_ASSIGN_OR_RETURN(lhs, expr)                           \
  auto NETPROBE_CONCAT_(_statusor_, __LINE__) = (expr);                \
  if (!NETPROBE_CONCAT_(_statusor_, __LINE__).ok())                    \
    return std::move(NETPROBE_CONCAT_(_statusor_, __LINE__)).status(); \
  lhs = std::move(NETPROBE_CONCAT_(_statusor_, __LINE__)).value()

#endif  // NETPROBE_COMMON_POSIX_ERROR_H_
