#ifndef NETPROBE_AGENT_PROBES_TRACEPATH_PROBE_H_
#define NETPROBE_AGENT_PROBES_TRACEPATH_PROBE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/net/event_loop.h"
#include "agent/net/resolver.h"
#include "agent/probes/event_sink.h"
#include "agent/probes/hop_names.h"
#include "agent/probes/probe_base.h"
#include "agent/probes/trace_reply.h"
#include "agent/probes/trace_transport.h"
#include "agent/probes/traceroute_request.h"
#include "netprobe/v1/traceroute.pb.h"

namespace netprobe {

// Path MTU discovery hop by hop (tracepath; a Traceroute request with
// path_mtu): one UDP probe in flight at a time, with DF and the kernel's
// learned path MTU ignored (IP_PMTUDISC_PROBE), starting at the request's
// packet length or the MTU of the interface the probes leave by. A
// Fragmentation Needed / Packet Too Big (its next-hop MTU) or the local
// EMSGSIZE (that interface's MTU) lowers the length and probes the same hop
// again; any other
// answer moves to the next TTL, as does a hop whose probes_per_hop probes
// all went unanswered. Ends at the target, an unreachable, or max_ttl.
// Each probe is one reply event (with its packet_length and next_hop_mtu);
// the hops report the path MTU from them on, the summary the path MTU and
// the TTL whose answer lowered it last (0: the local interface).
// Not thread-safe: loop thread only.
class TracepathProbe final : public ProbeBase<v1::TracerouteEvent> {
 public:
  TracepathProbe(TraceroutePlan plan, EventLoop* loop, BlockingWork work,
                 std::shared_ptr<Sink> sink, std::function<void()> done);
  ~TracepathProbe() override;

  void Start() override;

  // One probe in flight; its reply, a hop and the summary at most beyond.
  static size_t MaxEventsBeyondHighWater(const TraceroutePlan&) { return 3; }

 private:
  // Lowering the length more often than this is a router misbehaving.
  static constexpr int kMaxLowerings = 32;

  void OnResolved(absl::StatusOr<SocketAddress> address);
  // Sends the next probe of the current hop (or moves on / ends).
  void SendProbe();
  void OnAnswer(const TraceTransport::Answer& answer);
  void OnTimeout();
  // Lowers the length to `mtu` (reported at TTL `ttl`, 0: local); false
  // when it cannot (not lower, below the minimum, too many times).
  bool Lower(uint32_t mtu, uint32_t ttl);
  // The probe in flight ended with `reply`: emit it and go on.
  void Finish(v1::TracerouteReply reply, bool retry_hop);
  void NextHop();
  void NewReply(v1::TracerouteReply* reply) const;
  void Release() override;
  void AppendSummaries(std::vector<v1::TracerouteEvent>* out) override;
  std::string CutShortDetail() const override;

  const TraceroutePlan plan_;
  const BlockingWork work_;
  const uint32_t token_;

  std::unique_ptr<TraceTransport> transport_;
  std::optional<HopNames> names_;  // with `resolve`
  uint32_t min_length_ = 0;
  uint32_t length_ = 0;  // of the next probe, as an IP packet
  uint32_t path_mtu_ttl_ = 0;
  int lowerings_ = 0;
  uint32_t hop_ = 0;    // index from first_ttl
  uint32_t tries_ = 0;  // probes of this hop unanswered so far
  uint32_t probe_ = 0;  // probes of this hop sent so far
  uint32_t next_wire_ = 1;
  uint32_t wire_in_flight_ = 0;  // 0: none
  absl::Time user_sent_;
  absl::Time kernel_sent_ = absl::InfinitePast();
  EventLoop::TimerId timer_ = 0;
  uint32_t reached_ttl_ = 0;
  std::vector<TraceHopStats> hops_;
  std::vector<uint32_t> hop_mtu_;  // the length that crossed each hop
  uint64_t unmatched_ = 0;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TRACEPATH_PROBE_H_
