#include "agent/net/small_file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "agent/net/unique_fd.h"
#include "common/posix_error.h"

namespace netprobe {

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return PosixError(absl::StrCat("open(", path, ")"), errno);
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PosixError(absl::StrCat("read(", path, ")"), errno);
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > max_bytes) {
      return absl::OutOfRangeError(
          absl::StrCat(path, ": longer than ", max_bytes, " bytes"));
    }
  }
}

}  // namespace netprobe
