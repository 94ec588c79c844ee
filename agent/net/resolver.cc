#include "agent/net/resolver.h"

#include <netdb.h>
#include <pthread.h>

#include "absl/strings/str_cat.h"
#include "agent/net/event_loop.h"

namespace netprobe {

Resolver::Resolver() = default;

Resolver::~Resolver() {
  std::thread worker;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    jobs_.clear();
    worker = std::move(worker_);
  }
  if (worker.joinable()) worker.join();
}

void Resolver::Resolve(std::string host, int family, std::string field, Callback done) {
  RunBlocking([host = std::move(host), family, field = std::move(field),
               done = std::move(done)] { done(ResolveNow(host, family, field)); });
}

void Resolver::RunBlocking(std::function<void()> work) {
  absl::MutexLock lock(&mu_);
  jobs_.push_back(std::move(work));
  // The worker starts with the first job: most requests name literals, and
  // an idle agent keeps one thread fewer (its thread budget, BENCHMARKS.md).
  if (!worker_.joinable() && !stopping_) {
    worker_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "np-resolver");
      Work();
    });
  }
}

void Resolver::Work() {
  while (true) {
    std::function<void()> job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Resolver* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu_) {
            return r->stopping_ || !r->jobs_.empty();
          },
          this));
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

absl::StatusOr<std::optional<SocketAddress>> Resolver::ResolveLiteral(
    const std::string& host, int family, absl::string_view field) {
  std::optional<SocketAddress> literal = SocketAddress::FromLiteral(host);
  if (!literal.has_value()) return literal;
  if (family != AF_UNSPEC && literal->family() != family) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", host, " is an ", literal->family() == AF_INET ? "IPv4" : "IPv6",
        " address but the request asks for ", family == AF_INET ? "IPv4" : "IPv6"));
  }
  return literal;
}

absl::StatusOr<SocketAddress> Resolver::ResolveNow(const std::string& host, int family,
                                                   absl::string_view field) {
  auto literal = ResolveLiteral(host, family, field);
  if (!literal.ok()) return literal.status();
  if (literal->has_value()) return **literal;
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    return absl::NotFoundError(
        absl::StrCat(field, ": '", host, "' does not resolve: ", gai_strerror(rc)));
  }
  SocketAddress chosen;
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    SocketAddress candidate = SocketAddress::FromSockaddr(ai->ai_addr, ai->ai_addrlen);
    if (!candidate.valid()) continue;
    if (!chosen.valid() ||
        (candidate.family() == AF_INET && chosen.family() != AF_INET)) {
      chosen = candidate;
    }
  }
  freeaddrinfo(list);
  if (!chosen.valid()) {
    return absl::NotFoundError(absl::StrCat(field, ": '", host, "' has no IP address"));
  }
  return chosen;
}

void ResolveOnLoop(Resolver* resolver, EventLoop* loop, std::weak_ptr<char> alive,
                   const std::string& host, int family, const std::string& field,
                   AddressCheck check, Resolver::Callback given) {
  Resolver::Callback done = [field, check = std::move(check),
                             given = std::move(given)](absl::StatusOr<SocketAddress> r) {
    if (r.ok() && check) {
      if (absl::Status allowed = check(*r, field); !allowed.ok()) r = std::move(allowed);
    }
    given(std::move(r));
  };
  auto literal = Resolver::ResolveLiteral(host, family, field);
  if (!literal.ok()) return done(literal.status());
  if (literal->has_value()) return done(**literal);
  resolver->Resolve(host, family, field,
                    [loop, alive = std::move(alive), done = std::move(done)](
                        absl::StatusOr<SocketAddress> result) mutable {
                      loop->Post([alive = std::move(alive), done = std::move(done),
                                  result = std::move(result)]() mutable {
                        if (alive.lock()) done(std::move(result));
                      });
                    });
}

}  // namespace netprobe
