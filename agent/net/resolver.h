#ifndef NETPROBE_AGENT_NET_RESOLVER_H_
#define NETPROBE_AGENT_NET_RESOLVER_H_

#include <sys/socket.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/net/socket_address.h"

namespace netprobe {

class EventLoop;

// Resolves names with getaddrinfo() on its own worker thread, because
// getaddrinfo blocks and neither the event loop nor gRPC's callback threads
// may. Literals never reach the worker (see ResolveLiteral). The worker
// starts with the first job (it inherits that caller's credentials and
// signal mask). Thread-safe.
class Resolver {
 public:
  using Callback = std::function<void(absl::StatusOr<SocketAddress>)>;

  Resolver();
  ~Resolver();  // Runs no callbacks still queued; joins the worker.

  // Resolves `host` for `family` (AF_UNSPEC: IPv4 when the name has it, else
  // IPv6). `done` runs on the worker thread: post to a loop from it.
  // NOT_FOUND names `field` and the resolver's reason.
  void Resolve(std::string host, int family, std::string field, Callback done);

  // The literal's address when `host` is one (family-checked), nullopt when it
  // is a name. INVALID_ARGUMENT when a literal does not match `family`.
  static absl::StatusOr<std::optional<SocketAddress>> ResolveLiteral(
      const std::string& host, int family, absl::string_view field);

  // Runs `work` on the worker thread after the jobs queued before it: for
  // other calls that may resolve names (pcap_compile with host names).
  void RunBlocking(std::function<void()> work);

  // Blocking resolution, for the worker and for tests.
  static absl::StatusOr<SocketAddress> ResolveNow(const std::string& host, int family,
                                                  absl::string_view field);

 private:
  void Work();

  absl::Mutex mu_;
  std::deque<std::function<void()>> jobs_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_ ABSL_GUARDED_BY(mu_);  // started by the first job
};

// Judges a resolved address before anything is sent to it (the agent's
// policy); an error replaces the address. `field` names the target.
using AddressCheck =
    std::function<absl::Status(const SocketAddress& address, absl::string_view field)>;

// For probes on `loop`: a literal is resolved at once (`done` runs before
// this returns), a name on `resolver`'s worker with `done` posted back to the
// loop. Either way `check` (when set) judges the address on the loop first,
// so whatever the notation, the address checked is the address probed.
// `done` never runs once `alive` has expired (the probe is gone).
void ResolveOnLoop(Resolver* resolver, EventLoop* loop, std::weak_ptr<char> alive,
                   const std::string& host, int family, const std::string& field,
                   AddressCheck check, Resolver::Callback done);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_RESOLVER_H_
