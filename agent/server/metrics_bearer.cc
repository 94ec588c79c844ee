#include "agent/server/metrics_bearer.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/server/token_auth.h"
#include "agent/util/file_watcher.h"
#include "agent/util/log.h"

namespace netprobe {
namespace {

class FollowedTokens {
 public:
  FollowedTokens(std::string path, std::shared_ptr<TokenStore> store)
      : path_(std::move(path)), store_(std::move(store)), seen_(FileVersion::Of(path_)) {}

  bool Check(absl::string_view token) {
    {
      const FileVersion now = FileVersion::Of(path_);
      absl::MutexLock lock(&mu_);
      if (!(now == seen_)) {
        seen_ = now;
        if (absl::Status reloaded = store_->Reload(); !reloaded.ok()) {
          LogLine(absl::StrCat("metrics: --metrics-token-file ", path_,
                               " not reloaded: ", reloaded.message(),
                               "; the previous tokens stay in force"));
        } else {
          LogLine(absl::StrCat("metrics: --metrics-token-file ", path_, " reloaded"));
        }
      }
    }
    return store_->current()->Find(token).has_value();
  }

 private:
  const std::string path_;
  const std::shared_ptr<TokenStore> store_;
  absl::Mutex mu_;
  FileVersion seen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<metrics::HttpAccess::BearerCheck> MetricsBearerCheck(
    const std::string& token_file) {
  if (token_file.empty()) return metrics::HttpAccess::BearerCheck();
  absl::StatusOr<std::shared_ptr<TokenStore>> store = TokenStore::Open(token_file);
  if (!store.ok()) {
    return absl::Status(store.status().code(),
                        absl::StrCat("--metrics-token-file: ", store.status().message()));
  }
  auto tokens = std::make_shared<FollowedTokens>(token_file, *std::move(store));
  return metrics::HttpAccess::BearerCheck(
      [tokens](absl::string_view token) { return tokens->Check(token); });
}

}  // namespace netprobe
