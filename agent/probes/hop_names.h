#ifndef NETPROBE_AGENT_PROBES_HOP_NAMES_H_
#define NETPROBE_AGENT_PROBES_HOP_NAMES_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/net/event_loop.h"
#include "agent/net/resolver.h"

namespace netprobe {

// The names of a trace's hops (a Traceroute request's `resolve`): each
// address looked up once (reverse DNS on the agent's blocking pool), the
// answer kept for the trace. Loop thread only.
class HopNames {
 public:
  HopNames(BlockingWork work, EventLoop* loop, std::weak_ptr<char> alive)
      : work_(std::move(work)), loop_(loop), alive_(std::move(alive)) {}

  // The name of `ip` ("" when it has none) once looked up; nullopt while
  // not: the lookup starts (once) and `ready` runs when it ends.
  std::optional<std::string> Find(const std::string& ip, std::function<void()> ready);
  // The name when known, else "".
  std::string Known(const std::string& ip) const;

 private:
  struct Entry {
    bool done = false;
    std::string name;
    std::vector<std::function<void()>> waiting;
  };
  const BlockingWork work_;
  EventLoop* const loop_;
  const std::weak_ptr<char> alive_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_HOP_NAMES_H_
