#ifndef NETPROBE_AGENT_SERVER_TOKEN_AUTH_H_
#define NETPROBE_AGENT_SERVER_TOKEN_AUTH_H_

#include <grpcpp/security/auth_metadata_processor.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace netprobe {

// Bearer tokens on TCP listeners: the token file, the per-call decision, and
// the gRPC processor that applies it.

// The auth-context property naming a caller's token; the peer identity once
// set (agent/server/caller.cc turns it into "token:NAME").
inline constexpr char kTokenNameProperty[] = "netprobe_token_name";
// The one answer to every failure (no token, malformed header, unknown
// token, ...), so a caller learns nothing about which part was wrong.
inline constexpr char kUnauthenticatedMessage[] =
    "not authenticated: a valid bearer token is required";

// A parsed token file. The file, one entry a line:
//   # comment (also after an entry)
//   NAME TOKEN
// NAME: 1-64 of [A-Za-z0-9._@-], the caller's identity "token:NAME". TOKEN:
// 16-4096 printable ASCII characters without spaces (`openssl rand -hex 32`).
// Blank lines are ignored. A name may have several tokens (rotation); a
// token must not appear twice. Only SHA-256 digests of the tokens are kept.
class TokenSet {
 public:
  // INVALID_ARGUMENT names `label` and the line, never a token. An empty set
  // is an error: it would refuse every call.
  static absl::StatusOr<TokenSet> Parse(absl::string_view text, absl::string_view label);

  // The name of `token`, if it is in the set. Compares against every entry
  // with CRYPTO_memcmp on digests, so the time taken depends on neither
  // which entry matches, nor whether one does, nor how much of a token is
  // right.
  std::optional<std::string> Find(absl::string_view token) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string name;
    std::array<uint8_t, 32> digest;
  };
  std::vector<Entry> entries_;
};

// The decision for one call. `authorization`: the values of the call's
// "authorization" metadata. `bound_name`: the token name the connection was
// bound to by its first authenticated call, if any. OK with the token's name
// when there is exactly one value, "Bearer TOKEN" (scheme in any case), the
// token is in `tokens`, and its name is `bound_name` when that is set;
// otherwise UNAUTHENTICATED with kUnauthenticatedMessage.
absl::StatusOr<std::string> AuthenticateCall(
    const TokenSet& tokens, absl::Span<const absl::string_view> authorization,
    std::optional<absl::string_view> bound_name);

// The token file and its current set. Thread-safe.
class TokenStore {
 public:
  static absl::StatusOr<std::shared_ptr<TokenStore>> Open(std::string path);

  // Reads the file again (e.g. on SIGHUP) and swaps the set in for calls
  // that start from now on. On any error the current set stays in force and
  // the error is returned: a half-written file neither locks everyone out
  // nor lets anyone in. The file is read with the agent's credentials at
  // that time (after --user, that user's: e.g. root:netprobe 0640).
  absl::Status Reload();

  std::shared_ptr<const TokenSet> current() const;
  const std::string& path() const { return path_; }

 private:
  explicit TokenStore(std::string path) : path_(std::move(path)) {}
  static absl::StatusOr<TokenSet> Read(const std::string& path);

  const std::string path_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const TokenSet> current_ ABSL_GUARDED_BY(mu_);
};

// Checks the token of every call on the credentials it is set on.
//
// gRPC hands Process() the connection's AuthContext, shared by every call
// on the connection (grpc/grpc#28809): a property added for one call is seen
// by the later ones. So the first authenticated call binds the connection to
// its token's name (property kTokenNameProperty, made the peer identity),
// and later calls on that connection must carry a valid token of the same
// name. Per-call identities on one connection could not be told apart. The
// token itself is consumed: services and logs never see it.
class TokenAuthProcessor final : public grpc::AuthMetadataProcessor {
 public:
  explicit TokenAuthProcessor(std::shared_ptr<TokenStore> store)
      : store_(std::move(store)) {}

  // Inline on gRPC's thread: the check is a few digests, and a blocking
  // processor would hand each call to a thread pool that grows with the load.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  std::shared_ptr<TokenStore> store_;
  // Calls of one connection may be processed on different threads at once;
  // this orders every read-and-bind of a connection's context.
  absl::Mutex bind_mu_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_TOKEN_AUTH_H_
