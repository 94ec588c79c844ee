#include "agent/probes/attempt_result.h"

#include <errno.h>
#include <string.h>

#include "common/posix_error.h"

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

v1::AttemptResult ResultFromIcmpError(bool v6, uint8_t type, uint8_t code,
                                      const std::string& reported_by) {
  v1::AttemptResult result;
  result.set_icmp_type(type);
  result.set_icmp_code(code);
  result.set_reported_by(reported_by);
  v1::Outcome outcome = v1::OUTCOME_ERROR;
  const char* detail = "ICMP error";
  if (!v6 && type == 3) {
    switch (code) {
      case 0:
        outcome = v1::OUTCOME_NET_UNREACHABLE, detail = "Destination Net Unreachable";
        break;
      case 1:
        outcome = v1::OUTCOME_HOST_UNREACHABLE, detail = "Destination Host Unreachable";
        break;
      case 2:
        outcome = v1::OUTCOME_PROHIBITED, detail = "Destination Protocol Unreachable";
        break;
      case 3:
        outcome = v1::OUTCOME_REFUSED, detail = "Destination Port Unreachable";
        break;
      case 4:
        outcome = v1::OUTCOME_PACKET_TOO_BIG, detail = "Frag needed and DF set";
        break;
      case 9:
      case 10:
      case 13:
        outcome = v1::OUTCOME_PROHIBITED,
        detail = "Communication Administratively Prohibited";
        break;
      default:
        outcome = v1::OUTCOME_HOST_UNREACHABLE, detail = "Destination Unreachable";
    }
  } else if (!v6 && type == 11) {
    outcome = v1::OUTCOME_TIME_EXCEEDED, detail = "Time to live exceeded";
  } else if (!v6 && type == 12) {
    detail = "Parameter problem";
  } else if (v6 && type == 1) {
    switch (code) {
      case 0:
        outcome = v1::OUTCOME_NET_UNREACHABLE, detail = "No route";
        break;
      case 1:
      case 5:
      case 6:
        outcome = v1::OUTCOME_PROHIBITED, detail = "Administratively prohibited";
        break;
      case 4:
        outcome = v1::OUTCOME_REFUSED, detail = "Port unreachable";
        break;
      default:
        outcome = v1::OUTCOME_HOST_UNREACHABLE, detail = "Address unreachable";
    }
  } else if (v6 && type == 2) {
    outcome = v1::OUTCOME_PACKET_TOO_BIG, detail = "Packet too big";
  } else if (v6 && type == 3) {
    outcome = v1::OUTCOME_TIME_EXCEEDED, detail = "Time exceeded: Hop limit";
  } else if (v6 && type == 4) {
    detail = "Parameter problem";
  }
  result.set_outcome(outcome);
  result.set_detail(detail);
  return result;
}

}  // namespace netprobe
