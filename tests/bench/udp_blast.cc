// A UDP traffic generator for benchmarks: sends datagrams of a fixed payload size to
// ADDR:PORT at a fixed rate, paced in sendmmsg batches against CLOCK_MONOTONIC (the
// schedule is "packet i leaves at start + i / rate"; the sender sleeps only between
// batches, never per packet, and catches up in back-to-back batches when it is late).
// Each payload starts with a 64-bit big-endian sequence number.
//
// Usage:
//   udp_blast [-r PPS] [-d SECONDS | -c COUNT] [-s PAYLOAD] [-b BATCH] ADDR:PORT
//       -r  packets per second, 0 = as fast as possible (default 100000)
//       -d  seconds of traffic (default 10); the count sent is PPS * SECONDS
//       -c  packets to send instead of -d (with -r 0: how many to send unpaced)
//       -s  UDP payload bytes, 8..65507 (default 64)
//       -b  datagrams per sendmmsg, 1..1024 (default 32)
//   udp_blast --sink ADDR:PORT
//       binds ADDR:PORT and never reads, so that the blasted datagrams are dropped
//       by the socket (counted in UdpRcvbufErrors) instead of provoking ICMP
//       port-unreachable replies; prints "ready" and waits until killed.
//
// Prints one line on stdout at the end:
//   sent N in S s = R pps (target T pps, payload P B, batch B, E send errors)
// ADDR is IPv4 or IPv6 ("[::1]:9" or "::1:9" both work). Exit status 0 if every
// datagram was sent, 1 if sends failed, 2 on usage errors.
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int64_t kNanos = 1'000'000'000;

int64_t Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * kNanos + ts.tv_nsec;
}

void SleepUntil(int64_t t) {
  timespec ts{static_cast<time_t>(t / kNanos), static_cast<long>(t % kNanos)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

[[noreturn]] void Usage(const char* why) {
  std::fprintf(
      stderr,
      "udp_blast: %s\n"
      "usage: udp_blast [-r PPS] [-d SECONDS | -c COUNT] [-s PAYLOAD] [-b BATCH] "
      "ADDR:PORT\n"
      "       udp_blast --sink ADDR:PORT\n",
      why);
  std::exit(2);
}

bool Resolve(const std::string& spec, sockaddr_storage* out, socklen_t* len) {
  const auto colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host = spec.substr(0, colon);
  const std::string port = spec.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return false;
  std::memcpy(out, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return true;
}

int Sink(const sockaddr_storage& addr, socklen_t len) {
  const int fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    std::perror("udp_blast: sink bind");
    return 1;
  }
  // The buffer's size does not matter (nobody reads); a large one only delays the
  // point where the socket starts dropping. Keep the default.
  std::printf("ready\n");
  std::fflush(stdout);
  while (true) pause();
}

uint64_t ParseCount(const char* s, const char* what) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 1e15) Usage(what);
  return static_cast<uint64_t>(v);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t rate = 100'000;
  double seconds = 10;
  uint64_t count = 0;
  bool have_count = false;
  size_t payload = 64;
  size_t batch = 32;
  const char* target = nullptr;
  bool sink = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* what) {
      if (i + 1 >= argc) Usage(what);
      return argv[++i];
    };
    if (arg == "-r") {
      rate = ParseCount(value("-r needs a rate"), "bad rate");
    } else if (arg == "-d") {
      const char* s = value("-d needs seconds");
      char* end = nullptr;
      seconds = std::strtod(s, &end);
      if (end == s || *end != '\0' || !(seconds > 0)) Usage("bad duration");
    } else if (arg == "-c") {
      count = ParseCount(value("-c needs a count"), "bad count");
      have_count = true;
    } else if (arg == "-s") {
      payload = ParseCount(value("-s needs a size"), "bad size");
      if (payload < 8 || payload > 65507) Usage("payload must be 8..65507 bytes");
    } else if (arg == "-b") {
      batch = ParseCount(value("-b needs a batch size"), "bad batch");
      if (batch < 1 || batch > 1024) Usage("batch must be 1..1024");
    } else if (arg == "--sink") {
      sink = true;
    } else if (!arg.empty() && arg[0] == '-') {
      Usage(("unknown option " + arg).c_str());
    } else if (target == nullptr) {
      target = argv[i];
    } else {
      Usage("one ADDR:PORT only");
    }
  }
  if (target == nullptr) Usage("missing ADDR:PORT");
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  if (!Resolve(target, &addr, &addr_len)) Usage("ADDR:PORT must be a numeric address");
  if (sink) return Sink(addr, addr_len);
  if (!have_count) {
    if (rate == 0) Usage("-r 0 needs -c COUNT");
    count = static_cast<uint64_t>(static_cast<double>(rate) * seconds + 0.5);
  }

  const int fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("udp_blast: socket");
    return 1;
  }
  // Connected: the kernel keeps the route, and sendmmsg needs no per-message name.
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0) {
    std::perror("udp_blast: connect");
    return 1;
  }
  const int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

  std::vector<unsigned char> buffers(batch * payload);
  for (size_t i = 0; i < buffers.size(); ++i) buffers[i] = static_cast<unsigned char>(i);
  std::vector<iovec> iov(batch);
  std::vector<mmsghdr> msgs(batch);
  for (size_t i = 0; i < batch; ++i) {
    iov[i] = {buffers.data() + i * payload, payload};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  // When idle, sleep until a whole batch is due, but never longer than this, so that
  // low rates still go out smoothly.
  const int64_t max_nap = 1'000'000;
  uint64_t sent = 0;
  uint64_t errors = 0;
  const int64_t start = Now();
  while (sent < count) {
    uint64_t n = std::min<uint64_t>(batch, count - sent);
    if (rate != 0) {
      const int64_t now = Now();
      const uint64_t due =
          static_cast<uint64_t>(static_cast<__int128>(now - start) * rate / kNanos) + 1;
      if (due <= sent) {
        // Nothing due yet: sleep until a full batch is.
        const int64_t full =
            start +
            static_cast<int64_t>(static_cast<__int128>(sent + n - 1) * kNanos / rate);
        SleepUntil(std::min(full, now + max_nap));
        continue;
      }
      n = std::min<uint64_t>(n, due - sent);
    }
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t seq = sent + i;
      unsigned char* p = buffers.data() + i * payload;
      for (int b = 7; b >= 0; --b, seq >>= 8) p[b] = static_cast<unsigned char>(seq);
    }
    const int r = sendmmsg(fd, msgs.data(), static_cast<unsigned>(n), 0);
    if (r > 0) {
      sent += static_cast<uint64_t>(r);
    } else if (r < 0 && errno != EINTR) {
      // ECONNREFUSED reports an ICMP error for an earlier datagram; ENOBUFS/EAGAIN a
      // full queue. Neither sent this batch: count the failure and retry.
      if (++errors > 1000 && errors > sent / 100) {
        std::perror("udp_blast: sendmmsg");
        break;
      }
    }
  }
  const double elapsed = static_cast<double>(Now() - start) / kNanos;
  std::printf(
      "sent %llu in %.3f s = %.0f pps (target %llu pps, payload %zu B, batch %zu, "
      "%llu send errors)\n",
      static_cast<unsigned long long>(sent), elapsed,
      elapsed > 0 ? static_cast<double>(sent) / elapsed : 0.0,
      static_cast<unsigned long long>(rate), payload, batch,
      static_cast<unsigned long long>(errors));
  return sent == count ? 0 : 1;
}
