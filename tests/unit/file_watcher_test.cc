// Issue 17: the watcher behind certificate and token file rotation.
#include "agent/util/file_watcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/synchronization/notification.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

std::string TempDir() {
  char dir[] = "/tmp/netprobe-file-watcher-XXXXXX";
  return mkdtemp(dir) != nullptr ? dir : "";
}

TEST(FileVersionTest, TellsContentChangesAndRenamesApart) {
  const std::string dir = TempDir();
  ASSERT_FALSE(dir.empty());
  const std::string path = dir + "/cert.pem";
  EXPECT_FALSE(FileVersion::Of(path).exists);
  std::ofstream(path) << "one";
  const FileVersion first = FileVersion::Of(path);
  EXPECT_TRUE(first.exists);
  EXPECT_TRUE(first == FileVersion::Of(path));
  // The same size, replaced by rename (a new inode), as Kubernetes does.
  std::ofstream(dir + "/new") << "two";
  std::filesystem::rename(dir + "/new", path);
  EXPECT_FALSE(first == FileVersion::Of(path));
  std::filesystem::remove_all(dir);
}

TEST(FileWatcherTest, CallsOnceAChangeIsSeenAndNotBefore) {
  const std::string dir = TempDir();
  ASSERT_FALSE(dir.empty());
  const std::string path = dir + "/tokens";
  std::ofstream(path) << "a 0123456789abcdef\n";
  std::atomic<int> calls{0};
  absl::Notification changed;
  {
    FileWatcher watcher({path, dir + "/absent"}, absl::Milliseconds(10), [&] {
      if (++calls == 1) changed.Notify();
    });
    // Nothing changed: no call in 20 looks.
    EXPECT_FALSE(changed.WaitForNotificationWithTimeout(absl::Milliseconds(200)));
    std::ofstream(dir + "/new") << "b 0123456789abcdef\n";
    std::filesystem::rename(dir + "/new", path);
    EXPECT_TRUE(changed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  }  // the watcher's thread has stopped: calls no longer change
  EXPECT_EQ(calls.load(), 1);
  std::filesystem::remove_all(dir);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
