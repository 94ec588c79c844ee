#include "agent/probes/attempt_result.h"

#include <errno.h>
#include <string.h>

#include "agent/net/posix_error.h"

namespace netprobe {

v1::AttemptResult ResultFromErrno(int err) {
  v1::AttemptResult result;
  switch (err) {
    case 0:
      result.set_outcome(v1::OUTCOME_OK);
      return result;
    case ECONNREFUSED:
      result.set_outcome(v1::OUTCOME_REFUSED);
      break;
    case ETIMEDOUT:
      result.set_outcome(v1::OUTCOME_TIMEOUT);
      break;
    case EHOSTUNREACH:
    case EHOSTDOWN:
      result.set_outcome(v1::OUTCOME_HOST_UNREACHABLE);
      break;
    case ENETUNREACH:
    case ENETDOWN:
      result.set_outcome(v1::OUTCOME_NET_UNREACHABLE);
      break;
    case EACCES:
    case EPERM:
      result.set_outcome(v1::OUTCOME_PROHIBITED);
      break;
    case EMSGSIZE:
      result.set_outcome(v1::OUTCOME_PACKET_TOO_BIG);
      break;
    default:
      result.set_outcome(v1::OUTCOME_ERROR);
      break;
  }
  result.set_error(ErrnoName(err));
  result.set_detail(strerror(err));
  return result;
}

}  // namespace netprobe
