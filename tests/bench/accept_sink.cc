// A TCP listener for benchmarks: accepts connections as fast as it can and
// closes them at once. Prints its port on stdout, then serves until killed.
// Usage: accept_sink [BIND_ADDRESS]   (default 127.0.0.1, port chosen by the kernel)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

int main(int argc, char** argv) {
  const char* address = argc > 1 ? argv[1] : "127.0.0.1";
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (inet_pton(AF_INET, address, &addr.sin_addr) != 1) {
    std::fprintf(stderr, "accept_sink: bad address %s\n", address);
    return 2;
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 4096) != 0) {
    std::perror("accept_sink: bind/listen");
    return 1;
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  while (true) {
    epoll_event events[1];
    if (epoll_wait(ep, events, 1, -1) < 0) continue;
    while (true) {
      const int conn = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) break;
      close(conn);
    }
  }
}
