#include "common/posix_error.h"

#include <string.h>

#include "absl/strings/str_cat.h"

namespace netprobe {

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);  // glibc >= 2.32
  return name != nullptr ? std::string(name) : absl::StrCat("E", err);
}

absl::Status PosixError(absl::string_view context, int err) {
  absl::Status base = absl::ErrnoToStatus(err, "");
  return absl::Status(base.code(),
                      absl::StrCat(context, ": ", ErrnoName(err), " ", strerror(err)));
}

}  // namespace netprobe
