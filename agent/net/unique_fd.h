#ifndef NETPROBE_AGENT_NET_UNIQUE_FD_H_
#define NETPROBE_AGENT_NET_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace netprobe {

// Sole owner of a file descriptor: closes it exactly once. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Gives up ownership without closing.
  int release() { return std::exchange(fd_, -1); }
  // Closes the current descriptor (if any) and takes `fd`.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);  // close() is not retried on EINTR on Linux.
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_UNIQUE_FD_H_
