#include "agent/net/resolver.h"

#include <netdb.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "agent/net/event_loop.h"

namespace netprobe {

absl::StatusOr<std::optional<SocketAddress>> ResolveLiteral(const std::string& host,
                                                            int family,
                                                            absl::string_view field) {
  std::optional<SocketAddress> literal = SocketAddress::FromLiteral(host);
  if (!literal.has_value()) return literal;
  if (family != AF_UNSPEC && literal->family() != family) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", host, " is an ", literal->family() == AF_INET ? "IPv4" : "IPv6",
        " address but the request asks for ", family == AF_INET ? "IPv4" : "IPv6"));
  }
  return literal;
}

absl::StatusOr<SocketAddress> ResolveNow(const std::string& host, int family,
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

absl::StatusOr<std::vector<SocketAddress>> ResolveAllNow(const std::string& host,
                                                         int family,
                                                         absl::string_view field) {
  auto literal = ResolveLiteral(host, family, field);
  if (!literal.ok()) {
    // A literal of the other family: no address of the one asked for.
    if (SocketAddress::FromLiteral(host).has_value()) {
      return std::vector<SocketAddress>();
    }
    return literal.status();
  }
  if (literal->has_value()) return std::vector<SocketAddress>{**literal};
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;  // one entry per address, not per socket type
  addrinfo* list = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc == EAI_NODATA || rc == EAI_ADDRFAMILY) return std::vector<SocketAddress>();
  if (rc != 0) {
    return absl::NotFoundError(
        absl::StrCat(field, ": '", host, "' does not resolve: ", gai_strerror(rc)));
  }
  std::vector<SocketAddress> out;
  std::set<std::string> seen;
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    SocketAddress address = SocketAddress::FromSockaddr(ai->ai_addr, ai->ai_addrlen);
    if (!address.valid() || !seen.insert(address.ip()).second) continue;
    out.push_back(address);
  }
  freeaddrinfo(list);
  return out;
}

void ResolveOnLoop(const BlockingWork& work, EventLoop* loop, std::weak_ptr<char> alive,
                   const std::string& host, int family, const std::string& field,
                   AddressCheck check, ResolveCallback given) {
  ResolveCallback done = [field, check = std::move(check),
                          given = std::move(given)](absl::StatusOr<SocketAddress> r) {
    if (r.ok() && check) {
      if (absl::Status allowed = check(*r, field); !allowed.ok()) r = std::move(allowed);
    }
    given(std::move(r));
  };
  auto literal = ResolveLiteral(host, family, field);
  if (!literal.ok()) return done(literal.status());
  if (literal->has_value()) return done(**literal);
  work.Submit(BlockingPool::Queue::kResolve, alive,
              [loop, alive, host, family, field, done = std::move(done)]() mutable {
                auto result = std::make_shared<absl::StatusOr<SocketAddress>>(
                    ResolveNow(host, family, field));
                loop->Post([alive = std::move(alive), done = std::move(done), result] {
                  if (alive.lock()) done(std::move(*result));
                });
              });
}

std::string ReverseNow(const std::string& ip) {
  absl::StatusOr<std::optional<SocketAddress>> address =
      ResolveLiteral(ip, AF_UNSPEC, "ip");
  if (!address.ok() || !address->has_value()) return "";
  char name[NI_MAXHOST];
  if (getnameinfo((*address)->get(), (*address)->length(), name, sizeof(name), nullptr, 0,
                  NI_NAMEREQD) != 0) {
    return "";
  }
  return name;
}

void ReverseOnLoop(const BlockingWork& work, EventLoop* loop, std::weak_ptr<char> alive,
                   const std::string& ip, std::function<void(std::string name)> done) {
  work.Submit(BlockingPool::Queue::kResolve, alive,
              [loop, alive, ip, done = std::move(done)]() mutable {
                std::string name = ReverseNow(ip);
                loop->Post([alive = std::move(alive), done = std::move(done),
                            name = std::move(name)]() mutable {
                  if (alive.lock()) done(std::move(name));
                });
              });
}

}  // namespace netprobe
