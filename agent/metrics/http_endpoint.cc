#include "agent/metrics/http_endpoint.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "agent/metrics/http_listen_address.h"
#include "agent/metrics/worker_pool.h"
#include "agent/util/log.h"
#include "common/posix_error.h"

namespace netprobe::metrics {
namespace {

// Set on the accepting thread while it runs a connection the pool refused:
// the connection gets 503 without being read.
thread_local bool t_reject_connection = false;
// Set by the request handler when the connection must close after its reply
// (a request we did not read whole).
thread_local bool t_close_after_reply = false;
// The access configuration of the connection the worker serves (null: none).
thread_local const HttpAccess::Snapshot* t_access = nullptr;

using Clock = std::chrono::steady_clock;

// Waits until `fd` is ready for `events` (or has an error or hangup), at most
// until `deadline`; EINTR is retried with the time left.
bool WaitFdUntil(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd, events, 0};
    int n = poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

bool WaitFd(int fd, short events, absl::Duration timeout) {
  return WaitFdUntil(fd, events, Clock::now() + absl::ToChronoNanoseconds(timeout));
}

// A request line and headers larger than this end the connection: a scrape
// or a /probe request needs well under 1 KiB.
constexpr size_t kMaxRequestBytes = 32 * 1024;

void AddressOf(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                : getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  ip.clear();
  port = 0;
  if (rc != 0) return;
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
    port = ntohs(sin->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
    port = ntohs(sin6->sin6_port);
  }
  ip = text;
}

// A connected socket as httplib's request parser reads it, plain or TLS:
// reads buffered (the parser reads headers a byte at a time); each request
// must arrive whole within the read timeout and kMaxRequestBytes, so a slow
// or endless request cannot hold a worker or grow memory; each write waits
// at most the write timeout. With TLS the socket is non-blocking and every
// wait is a poll with the same deadlines.
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(int fd, SSL* ssl, absl::Duration read_timeout,
                   absl::Duration write_timeout)
      : fd_(fd), ssl_(ssl), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

  // Starts the read deadline and byte budget of the next request.
  void BeginRequest() {
    read_deadline_ = Clock::now() + absl::ToChronoNanoseconds(read_timeout_);
    request_bytes_ = 0;
  }
  // Bytes read and not yet handed to the parser (here or in OpenSSL).
  bool Buffered() const {
    return begin_ < end_ || (ssl_ != nullptr && SSL_pending(ssl_) > 0);
  }

  bool is_readable() const override {
    return Buffered() || WaitFdUntil(fd_, POLLIN, read_deadline_);
  }
  bool is_writable() const override { return WaitFd(fd_, POLLOUT, write_timeout_); }

  ssize_t read(char* ptr, size_t size) override {
    if (request_bytes_ >= kMaxRequestBytes) return -1;
    if (begin_ == end_) {
      ssize_t n = Recv(buffer_, sizeof(buffer_));
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<size_t>(n);
    }
    size_t n = std::min({size, end_ - begin_, kMaxRequestBytes - request_bytes_});
    memcpy(ptr, buffer_ + begin_, n);
    begin_ += n;
    request_bytes_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    const Clock::time_point deadline =
        Clock::now() + absl::ToChronoNanoseconds(write_timeout_);
    if (ssl_ != nullptr) {
      for (;;) {
        ERR_clear_error();
        int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, 1 << 30)));
        if (n > 0) return n;
        if (!WaitForTls(SSL_get_error(ssl_, n), deadline)) return -1;
      }
    }
    if (!WaitFdUntil(fd_, POLLOUT, deadline)) return -1;
    for (;;) {
      ssize_t n = send(fd_, ptr, size, MSG_NOSIGNAL);
      if (n >= 0 || errno != EINTR) return n;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    AddressOf(fd_, /*peer=*/true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    AddressOf(fd_, /*peer=*/false, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  // After an SSL call failed with `error`: waits for what OpenSSL wants until
  // `deadline`; false when it is not a wait (an error or the peer closed).
  bool WaitForTls(int error, Clock::time_point deadline) const {
    if (error == SSL_ERROR_WANT_READ) return WaitFdUntil(fd_, POLLIN, deadline);
    if (error == SSL_ERROR_WANT_WRITE) return WaitFdUntil(fd_, POLLOUT, deadline);
    return false;
  }

  ssize_t Recv(char* ptr, size_t size) {
    if (ssl_ != nullptr) {
      for (;;) {
        ERR_clear_error();
        int n = SSL_read(ssl_, ptr, static_cast<int>(size));
        if (n > 0) return n;
        const int error = SSL_get_error(ssl_, n);
        if (error == SSL_ERROR_ZERO_RETURN) return 0;
        if (!WaitForTls(error, read_deadline_)) return -1;
      }
    }
    if (!WaitFdUntil(fd_, POLLIN, read_deadline_)) return -1;
    for (;;) {
      ssize_t n = recv(fd_, ptr, size, 0);
      if (n >= 0 || errno != EINTR) return n;
    }
  }

  const int fd_;
  SSL* const ssl_;
  const absl::Duration read_timeout_, write_timeout_;
  Clock::time_point read_deadline_;
  size_t request_bytes_ = 0;
  char buffer_[4096];
  size_t begin_ = 0, end_ = 0;
};

// The TLS side of a connection: the handshake within `timeout`, then the
// SSL for ConnectionStream; shut down and freed with the object.
class TlsSession {
 public:
  explicit TlsSession(int fd) : fd_(fd) {}
  ~TlsSession() {
    if (ssl_ == nullptr) return;
    if (established_) SSL_shutdown(ssl_);  // close_notify, not waited for
    SSL_free(ssl_);
  }
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  bool Handshake(SSL_CTX* ctx, absl::Duration timeout) {
    const int flags = fcntl(fd_, F_GETFL);
    if (flags < 0 || fcntl(fd_, F_SETFL, flags | O_NONBLOCK) != 0) return false;
    ssl_ = SSL_new(ctx);
    if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) return false;
    const Clock::time_point deadline = Clock::now() + absl::ToChronoNanoseconds(timeout);
    for (;;) {
      ERR_clear_error();
      int rc = SSL_accept(ssl_);
      if (rc == 1) return established_ = true;
      const int error = SSL_get_error(ssl_, rc);
      bool ready = false;
      if (error == SSL_ERROR_WANT_READ) ready = WaitFdUntil(fd_, POLLIN, deadline);
      if (error == SSL_ERROR_WANT_WRITE) ready = WaitFdUntil(fd_, POLLOUT, deadline);
      if (!ready) {
        ERR_clear_error();
        return false;
      }
    }
  }
  SSL* ssl() const { return ssl_; }

 private:
  const int fd_;
  SSL* ssl_ = nullptr;
  bool established_ = false;
};

// Whether the first bytes on a TLS port are plain HTTP (a request line), not
// a TLS record (0x16, handshake): peeked, within `timeout`.
bool LooksLikePlainHttp(int fd, absl::Duration timeout) {
  if (!WaitFd(fd, POLLIN, timeout)) return false;
  char first[4];
  ssize_t n = recv(fd, first, sizeof(first), MSG_PEEK | MSG_DONTWAIT);
  if (n < 1) return false;
  return absl::ascii_isupper(static_cast<unsigned char>(first[0]));
}

std::string PeerString(const std::string& ip, int port) {
  if (ip.find(':') != std::string::npos) return absl::StrCat("ipv6:[", ip, "]:", port);
  return absl::StrCat("ipv4:", ip, ":", port);
}

time_t WholeSeconds(absl::Duration d) { return absl::ToInt64Seconds(d); }
time_t MicrosBeyondSeconds(absl::Duration d) {
  return absl::ToInt64Microseconds(d - absl::Seconds(absl::ToInt64Seconds(d)));
}

}  // namespace

HttpHandler MetricsHandler(const Registry* registry) {
  return [registry](const HttpQuery&) {
    return HttpReply{200, std::string(kExpositionContentType), registry->Render()};
  };
}

// ---- the server ---------------------------------------------------------------------

class MetricsHttpServer::Impl {
 public:
  Impl(HttpRoutes routes, HttpServerOptions options)
      : routes_(std::move(routes)),
        options_(std::move(options)),
        pool_(WorkerPool::Options{std::max<size_t>(1, options_.max_workers),
                                  options_.max_queued, options_.worker_idle_exit,
                                  "np-http-work"}),
        server_(this) {}

  ~Impl() { Stop(); }

  absl::Status Start(const HttpListenAddress& address);
  void Stop();
  std::string bound() const { return bound_; }
  HttpServerStats stats() const;

 private:
  // httplib's server with connections served by our code: httplib parses
  // and answers requests; we own the connection loop, its timeouts, and the
  // refusal of connections beyond the pool's bounds.
  class Server final : public httplib::Server {
   public:
    explicit Server(Impl* impl) : impl_(impl) {}
    int listening_fd() const { return svr_sock_; }
    // httplib's parser and router for one request on `stream`.
    bool ProcessRequest(httplib::Stream& stream, bool close_connection,
                        bool& connection_closed,
                        const std::function<void(httplib::Request&)>& setup) {
      return process_request(stream, close_connection, connection_closed, setup);
    }

   private:
    bool process_and_close_socket(socket_t fd) override;
    Impl* const impl_;
  };

  // The httplib TaskQueue of the accepting thread, backed by pool_.
  class TaskQueue final : public httplib::TaskQueue {
   public:
    explicit TaskQueue(Impl* impl) : impl_(impl) {}
    void enqueue(std::function<void()> fn) override;
    void shutdown() override { impl_->pool_.Shutdown(); }

   private:
    Impl* const impl_;
  };

  // Serves requests on `fd` until the client closes, an error, the keep-alive
  // limits, or Stop().
  void Serve(Server& server, int fd);
  // Answers 503 without reading the request.
  void Reject(int fd);
  // Counts a connection or request that options_.access refused.
  void Refused(absl::string_view reason);
  // The pre-routing handler: every request ends here.
  void Handle(const httplib::Request& req, httplib::Response& res);
  // Registers a connection so Stop() can wake it; false when stopping.
  bool Track(int fd);
  // Forgets and closes it.
  void CloseTracked(int fd);

  const HttpRoutes routes_;
  const HttpServerOptions options_;
  WorkerPool pool_;
  Server server_;
  std::string bound_;
  std::thread listener_;
  std::atomic<uint64_t> rejected_{0};

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;   // listen loop entered
  bool finished_ ABSL_GUARDED_BY(mu_) = false;  // listen loop left
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::set<int> connections_ ABSL_GUARDED_BY(mu_);
};

void MetricsHttpServer::Impl::TaskQueue::enqueue(std::function<void()> fn) {
  if (impl_->pool_.TrySubmit(fn)) return;
  // Full: `fn` runs here, where Server::process_and_close_socket sees the
  // flag and answers 503 at once.
  impl_->rejected_.fetch_add(1, std::memory_order_relaxed);
  if (impl_->options_.on_rejected) impl_->options_.on_rejected();
  t_reject_connection = true;
  fn();
  t_reject_connection = false;
}

bool MetricsHttpServer::Impl::Server::process_and_close_socket(socket_t fd) {
  // httplib accepts without SOCK_CLOEXEC; narrow the window for exec().
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (t_reject_connection) {
    impl_->Reject(fd);
  } else {
    impl_->Serve(*this, fd);
  }
  return true;
}

void MetricsHttpServer::Impl::Reject(int fd) {
  if (options_.access != nullptr && options_.access->ForConnection()->tls != nullptr) {
    close(fd);  // no handshake on the accepting thread: closed, counted
    return;
  }
  const std::string body =
      absl::StrCat("busy: ", options_.max_workers, " requests in progress and ",
                   options_.max_queued, " waiting; try again later\n");
  const std::string reply = absl::StrCat(
      "HTTP/1.1 503 Service Unavailable\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: ",
      body.size(), "\r\nRetry-After: 5\r\nConnection: close\r\n\r\n", body);
  // Never blocks the accepting thread: a client that cannot take a few
  // hundred bytes at once gets nothing.
  [[maybe_unused]] ssize_t sent =
      send(fd, reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  shutdown(fd, SHUT_WR);
  // Drain what the client sent already, so close() sends FIN, not RST (which
  // may discard our reply before the client reads it).
  char sink[4096];
  for (int i = 0; i < 16; ++i) {
    ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
    if (n > 0 || (n < 0 && errno == EINTR)) continue;
    break;
  }
  close(fd);
}

bool MetricsHttpServer::Impl::Track(int fd) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  connections_.insert(fd);
  return true;
}

void MetricsHttpServer::Impl::CloseTracked(int fd) {
  absl::MutexLock lock(&mu_);  // so Stop() never shuts down a reused number
  connections_.erase(fd);
  shutdown(fd, SHUT_RDWR);
  close(fd);
}

void MetricsHttpServer::Impl::Serve(Server& server, int fd) {
  if (!Track(fd)) {
    close(fd);
    return;
  }
  std::shared_ptr<const HttpAccess::Snapshot> access;
  if (options_.access != nullptr) access = options_.access->ForConnection();
  TlsSession tls(fd);
  if (access != nullptr && access->tls != nullptr) {
    if (LooksLikePlainHttp(fd, options_.read_timeout)) {
      // As Go's servers answer: the client is told what went wrong.
      static constexpr absl::string_view kReply =
          "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Connection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
      [[maybe_unused]] ssize_t sent =
          send(fd, kReply.data(), kReply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      Refused("plain_http");
      return CloseTracked(fd);
    }
    if (!tls.Handshake(access->tls.get(), options_.read_timeout)) {
      Refused("tls_handshake");
      return CloseTracked(fd);
    }
  }
  t_access = access.get();
  ConnectionStream stream(fd, tls.ssl(), options_.read_timeout, options_.write_timeout);
  absl::Duration wait = options_.read_timeout;  // for the first request
  for (size_t left = std::max<size_t>(1, options_.keep_alive_max_requests); left > 0;
       --left) {
    if (!stream.Buffered() && !WaitFd(fd, POLLIN, wait)) break;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
    }
    bool connection_closed = false;
    t_close_after_reply = false;
    stream.BeginRequest();
    bool ok = server.ProcessRequest(stream, /*close_connection=*/left == 1,
                                    connection_closed, [&](httplib::Request& req) {
                                      stream.get_remote_ip_and_port(req.remote_addr,
                                                                    req.remote_port);
                                    });
    if (!ok || connection_closed || t_close_after_reply) break;
    wait = options_.keep_alive_timeout;
  }
  t_access = nullptr;
  CloseTracked(fd);
}

void MetricsHttpServer::Impl::Refused(absl::string_view reason) {
  if (options_.on_refused) options_.on_refused(reason);
}

void MetricsHttpServer::Impl::Handle(const httplib::Request& req,
                                     httplib::Response& res) {
  auto text = [&](int status, std::string body) {
    res.status = status;
    res.set_content(std::move(body), "text/plain; charset=utf-8");
  };
  auto close_after = [&] {
    t_close_after_reply = true;
    res.set_header("Connection", "close");
  };
  if (const HttpAccess::Snapshot* access = t_access; access != nullptr) {
    for (const auto& [name, value] : access->config.headers) res.set_header(name, value);
    if (!options_.access->Authorized(*access, req.get_header_value("Authorization"))) {
      Refused("unauthorized");
      if (!access->config.basic_auth_users.empty()) {
        res.set_header("WWW-Authenticate", "Basic realm=\"netprobe\", charset=\"UTF-8\"");
      }
      if (access->bearer) res.set_header("WWW-Authenticate", "Bearer realm=\"netprobe\"");
      close_after();  // a body may follow, unread
      return text(401, "unauthorized: valid credentials are required\n");
    }
  }
  if (req.method != "GET") {
    close_after();  // a body may follow, unread
    res.set_header("Allow", "GET");
    return text(405, absl::StrCat("method ", req.method, " not allowed: use GET\n"));
  }
  uint64_t content_length = 0;
  if (req.has_header("Transfer-Encoding") ||
      (req.has_header("Content-Length") &&
       (!absl::SimpleAtoi(req.get_header_value("Content-Length"), &content_length) ||
        content_length > 0))) {
    close_after();
    return text(400, "a GET request has no body\n");
  }
  auto route = routes_.find(req.path);
  if (route == routes_.end()) {
    std::vector<std::string> paths;
    for (const auto& [path, handler] : routes_) paths.push_back(path);
    return text(404, absl::StrCat("not found: ", req.path, "\nthis agent serves: ",
                                  absl::StrJoin(paths, " "), "\n"));
  }
  HttpQuery query;
  query.path = req.path;
  query.peer = PeerString(req.remote_addr, req.remote_port);
  for (const auto& [name, value] : req.params) {
    if (!query.params.emplace(name, value).second) {
      return text(400, absl::StrCat("parameter '", name, "' given more than once\n"));
    }
  }
  HttpReply reply = route->second(query);
  res.status = reply.status;
  res.set_content(std::move(reply.body), reply.content_type);
}

absl::Status MetricsHttpServer::Impl::Start(const HttpListenAddress& address) {
  const std::string where = FormatHostPort(address.host, address.port);
  server_.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        Handle(req, res);
        return httplib::Server::HandlerResponse::Handled;
      });
  server_.new_task_queue = [this]() -> httplib::TaskQueue* {
    // Called first thing in the accept loop, after which Stop() works.
    absl::MutexLock lock(&mu_);
    started_ = true;
    return new TaskQueue(this);
  };
  server_.set_socket_options([](socket_t fd) {
    // Not httplib's default SO_REUSEPORT: a second agent on the same port
    // must fail to bind, not share the connections.
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  });
  server_.set_read_timeout(WholeSeconds(options_.read_timeout),
                           MicrosBeyondSeconds(options_.read_timeout));
  server_.set_write_timeout(WholeSeconds(options_.write_timeout),
                            MicrosBeyondSeconds(options_.write_timeout));
  server_.set_keep_alive_timeout(
      std::max<time_t>(1, WholeSeconds(options_.keep_alive_timeout)));
  server_.set_keep_alive_max_count(std::max<size_t>(1, options_.keep_alive_max_requests));
  server_.set_payload_max_length(1024);  // GET only: requests have no body
  server_.set_tcp_nodelay(true);

  errno = 0;
  bool bound = address.port == 0 ? server_.bind_to_any_port(address.host) > 0
                                 : server_.bind_to_port(address.host, address.port);
  if (!bound) {
    int err = errno;
    std::string context = absl::StrCat("--metrics-listen ", where, ": cannot listen");
    if (err != 0) return PosixError(context, err);
    return absl::UnavailableError(context);
  }
  std::string ip;
  int port = 0;
  AddressOf(server_.listening_fd(), /*peer=*/false, ip, port);
  bound_ = FormatHostPort(ip, static_cast<uint16_t>(port));

  listener_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "np-http");
    BlockAllSignals();
    server_.listen_after_bind();
    absl::MutexLock lock(&mu_);
    finished_ = true;
    if (!stopping_) {
      LogLine(absl::StrCat("metrics: HTTP server on ", bound_,
                           " stopped accepting connections (accept failed)"));
    }
  });
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](Impl* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
        return self->started_ || self->finished_;
      },
      this));
  if (!started_) {
    return absl::InternalError(
        absl::StrCat("--metrics-listen ", where, ": the HTTP server did not start"));
  }
  return absl::OkStatus();
}

void MetricsHttpServer::Impl::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    // Wakes connections waiting for a request; those running a handler
    // finish it (their reply then fails to send).
    for (int fd : connections_) shutdown(fd, SHUT_RDWR);
  }
  server_.stop();  // closes the listening socket; the accept loop ends
  if (listener_.joinable()) listener_.join();  // joins the pool too
  pool_.Shutdown();                            // in case the accept loop never ran
}

HttpServerStats MetricsHttpServer::Impl::stats() const {
  WorkerPool::Stats pool = pool_.stats();
  return HttpServerStats{pool.threads, pool.busy, pool.queued,
                         rejected_.load(std::memory_order_relaxed)};
}

// ---- MetricsHttpServer ----------------------------------------------------------------

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    std::string_view listen, HttpRoutes routes, HttpServerOptions options) {
  NETPROBE_ASSIGN_OR_RETURN(HttpListenAddress address, ParseHttpListenAddress(listen));
  auto impl = std::make_unique<Impl>(std::move(routes), std::move(options));
  NETPROBE_RETURN_IF_ERROR(impl->Start(address));
  return std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(std::move(impl)));
}

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

std::string MetricsHttpServer::bound() const { return impl_->bound(); }

void MetricsHttpServer::Stop() { impl_->Stop(); }

HttpServerStats MetricsHttpServer::stats() const { return impl_->stats(); }

}  // namespace netprobe::metrics
