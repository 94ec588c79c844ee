#ifndef NETPROBE_AGENT_UTIL_FILE_WATCHER_H_
#define NETPROBE_AGENT_UTIL_FILE_WATCHER_H_

#include <sys/stat.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace netprobe {

// What identifies a file's content without reading it: inode, size, mtime
// and ctime of what the path names (symlinks followed, so Kubernetes'
// secret volumes, which swap a "..data" symlink, are seen to change).
// A file that cannot be stat'ed is {} (exists = false).
struct FileVersion {
  bool exists = false;
  ino_t inode = 0;
  dev_t device = 0;
  off_t size = 0;
  timespec mtime{};
  timespec ctime{};

  static FileVersion Of(const std::string& path);
  bool operator==(const FileVersion& other) const;
};

// Calls `on_change` (on the watcher's thread, "np-files") when any of `paths`
// changed since the last look, at most once per `interval`; the first look
// is at construction (no call). Changes within one interval are one call; a
// file being written when looked at is seen again at the next look, so
// `on_change` may see a half-written file once and must keep what it had on
// a bad read. The destructor stops the thread.
class FileWatcher {
 public:
  FileWatcher(std::vector<std::string> paths, absl::Duration interval,
              std::function<void()> on_change);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

 private:
  const std::vector<std::string> paths_;
  std::vector<FileVersion> versions_;  // the thread's
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_UTIL_FILE_WATCHER_H_
