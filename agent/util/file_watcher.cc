#include "agent/util/file_watcher.h"

#include <pthread.h>

namespace netprobe {
namespace {

bool SameTime(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

std::vector<FileVersion> VersionsOf(const std::vector<std::string>& paths) {
  std::vector<FileVersion> out;
  out.reserve(paths.size());
  for (const std::string& path : paths) out.push_back(FileVersion::Of(path));
  return out;
}

}  // namespace

FileVersion FileVersion::Of(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return {};
  return {.exists = true,
          .inode = st.st_ino,
          .device = st.st_dev,
          .size = st.st_size,
          .mtime = st.st_mtim,
          .ctime = st.st_ctim};
}

bool FileVersion::operator==(const FileVersion& other) const {
  return exists == other.exists && inode == other.inode && device == other.device &&
         size == other.size && SameTime(mtime, other.mtime) &&
         SameTime(ctime, other.ctime);
}

FileWatcher::FileWatcher(std::vector<std::string> paths, absl::Duration interval,
                         std::function<void()> on_change)
    : paths_(std::move(paths)), versions_(VersionsOf(paths_)) {
  thread_ = std::thread([this, interval, on_change = std::move(on_change)] {
    pthread_setname_np(pthread_self(), "np-files");
    while (!stop_.WaitForNotificationWithTimeout(interval)) {
      std::vector<FileVersion> now = VersionsOf(paths_);
      if (now == versions_) continue;
      versions_ = std::move(now);
      on_change();
    }
  });
}

FileWatcher::~FileWatcher() {
  stop_.Notify();
  thread_.join();
}

}  // namespace netprobe
