#include "tests/lab/netns_socket.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/posix_error.h"

namespace netprobe::testing {

absl::StatusOr<UniqueFd> OpenSocketInNetns(const std::string& netns, int domain, int type,
                                           int protocol) {
  absl::StatusOr<UniqueFd> result = absl::UnknownError("not run");
  // setns() changes only the calling thread, so a short-lived thread enters
  // the namespace and the rest of the test process stays where it is.
  std::thread worker([&] {
    UniqueFd ns(open(absl::StrCat("/run/netns/", netns).c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) {
      result = PosixError(absl::StrCat("open netns ", netns), errno);
      return;
    }
    if (setns(ns.get(), CLONE_NEWNET) != 0) {
      result = PosixError(absl::StrCat("setns ", netns), errno);
      return;
    }
    UniqueFd fd(socket(domain, type | SOCK_CLOEXEC, protocol));
    if (!fd) {
      result = PosixError("socket", errno);
      return;
    }
    result = std::move(fd);
  });
  worker.join();
  return result;
}

absl::StatusOr<NetnsListener> ListenTcpInNetns(const std::string& netns, int backlog) {
  auto fd = OpenSocketInNetns(netns, AF_INET6, SOCK_STREAM);
  if (!fd.ok()) return fd.status();
  int off = 0;
  setsockopt(fd->get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  if (bind(fd->get(), reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0) {
    return PosixError("bind [::]:0", errno);
  }
  if (listen(fd->get(), backlog) != 0) return PosixError("listen", errno);
  sockaddr_in6 bound{};
  socklen_t len = sizeof(bound);
  getsockname(fd->get(), reinterpret_cast<sockaddr*>(&bound), &len);
  NetnsListener out;
  out.fd = *std::move(fd);
  out.port = ntohs(bound.sin6_port);
  return out;
}

}  // namespace netprobe::testing
