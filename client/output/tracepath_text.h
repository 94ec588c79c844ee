#ifndef NETPROBE_CLIENT_OUTPUT_TRACEPATH_TEXT_H_
#define NETPROBE_CLIENT_OUTPUT_TRACEPATH_TEXT_H_

#include <cstdint>
#include <string>

#include "netprobe/v1/traceroute.pb.h"

namespace netprobe::client {

// The hops back an answer took, from its TTL as it arrived, as tracepath
// guesses it (initial TTL 64, 128 or 255); 0 when the TTL is unknown.
uint32_t HopsBack(uint32_t reply_ttl);

// Turns a path_mtu trace's events into `tracepath -n`'s lines:
//    1?: [LOCALHOST]                      pmtu 1500
//    1:  198.18.0.1                                            0.065ms
//    3:  198.18.1.2                                            0.015ms pmtu 1400
//    3:  198.18.2.2                                            0.024ms reached
//    4:  no reply
//        Resume: pmtu 1400 hops 3 back 3
// Not thread-safe.
class TracepathLines {
 public:
  // `tries`: the probes a silent hop gets (the request's probes_per_hop).
  explicit TracepathLines(uint32_t tries) : tries_(tries) {}
  // The lines of one probe's reply.
  std::string Add(const v1::TracerouteReply& reply);
  // The closing lines ("Too many hops" when the target was not reached).
  std::string Summary(const v1::TracerouteSummary& summary);

 private:
  const uint32_t tries_;
  bool announced_ = false;
  uint32_t back_ = 0;          // hops back of the target's answer
  uint32_t silent_ttl_ = 0;    // the TTL whose "no reply" line was printed
  uint32_t answered_ttl_ = 0;  // the last TTL with an answer
};

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_TRACEPATH_TEXT_H_
