#include "agent/server/token_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/util/log.h"
#include "common/posix_error.h"
#include "common/tls_files.h"

namespace netprobe {
namespace {

constexpr size_t kMaxNameLength = 64;
constexpr size_t kMinTokenLength = 16;
constexpr size_t kMaxTokenLength = 4096;

std::array<uint8_t, 32> Digest(absl::string_view token) {
  std::array<uint8_t, 32> out{};
  unsigned int size = 0;
  EVP_Digest(token.data(), token.size(), out.data(), &size, EVP_sha256(), nullptr);
  return out;
}

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
         c == '-' || c == '@';
}

bool IsTokenChar(char c) { return c > 0x20 && c < 0x7f; }

absl::Status Unauthenticated() {
  return absl::UnauthenticatedError(kUnauthenticatedMessage);
}

}  // namespace

absl::StatusOr<TokenSet> TokenSet::Parse(absl::string_view text,
                                         absl::string_view label) {
  TokenSet set;
  std::vector<int> lines;  // of each entry, for duplicate messages
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (fields.empty() || absl::StartsWith(fields[0], "#")) continue;
    auto error = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat(label, " line ", line_number, ": ", what));
    };
    if (fields.size() < 2 || (fields.size() > 2 && !absl::StartsWith(fields[2], "#"))) {
      return error("expected NAME TOKEN (and nothing after it but a # comment)");
    }
    const absl::string_view name = fields[0], token = fields[1];
    if (name.size() > kMaxNameLength ||
        !std::all_of(name.begin(), name.end(), IsNameChar)) {
      return error("NAME must be 1 to 64 of A-Z a-z 0-9 . _ - @");
    }
    if (token.size() < kMinTokenLength || token.size() > kMaxTokenLength) {
      return error("TOKEN must be 16 to 4096 characters (e.g. openssl rand -hex 32)");
    }
    if (!std::all_of(token.begin(), token.end(), IsTokenChar)) {
      return error("TOKEN must be printable ASCII");
    }
    Entry entry{std::string(name), Digest(token)};
    for (size_t i = 0; i < set.entries_.size(); ++i) {
      if (set.entries_[i].digest == entry.digest) {
        return error(absl::StrCat("the same token as line ", lines[i],
                                  ": each token must name one caller"));
      }
    }
    set.entries_.push_back(std::move(entry));
    lines.push_back(line_number);
  }
  if (set.entries_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": no tokens (one NAME TOKEN per line)"));
  }
  return set;
}

std::optional<std::string> TokenSet::Find(absl::string_view token) const {
  const std::array<uint8_t, 32> digest = Digest(token);
  const Entry* found = nullptr;
  for (const Entry& entry : entries_) {
    // No early exit: every entry costs the same.
    const bool same =
        CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0;
    if (same) found = &entry;
  }
  if (found == nullptr) return std::nullopt;
  return found->name;
}

absl::StatusOr<std::string> AuthenticateCall(
    const TokenSet& tokens, absl::Span<const absl::string_view> authorization,
    std::optional<absl::string_view> bound_name) {
  if (authorization.size() != 1) return Unauthenticated();
  absl::string_view value = authorization[0];
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return Unauthenticated();
  }
  value.remove_prefix(kScheme.size());
  value = absl::StripLeadingAsciiWhitespace(value);
  std::optional<std::string> name = tokens.Find(value);
  if (!name.has_value()) return Unauthenticated();
  if (bound_name.has_value() && *bound_name != *name) return Unauthenticated();
  return *std::move(name);
}

absl::StatusOr<std::shared_ptr<TokenStore>> TokenStore::Open(std::string path) {
  std::shared_ptr<TokenStore> store(new TokenStore(std::move(path)));
  NETPROBE_ASSIGN_OR_RETURN(TokenSet set, Read(store->path_));
  absl::MutexLock lock(&store->mu_);
  store->current_ = std::make_shared<const TokenSet>(std::move(set));
  return store;
}

absl::StatusOr<TokenSet> TokenStore::Read(const std::string& path) {
  NETPROBE_ASSIGN_OR_RETURN(std::string text,
                            ReadSmallFile(path, "--token-file", /*secret=*/true));
  return TokenSet::Parse(text, absl::StrCat("token file ", path));
}

absl::Status TokenStore::Reload() {
  absl::StatusOr<TokenSet> set = Read(path_);
  if (!set.ok()) {
    return absl::Status(
        set.status().code(),
        absl::StrCat(set.status().message(), " (kept the tokens loaded before)"));
  }
  const size_t count = set->size();
  {
    absl::MutexLock lock(&mu_);
    current_ = std::make_shared<const TokenSet>(*std::move(set));
  }
  LogLine(absl::StrCat("netprobe-agent: token file ", path_, " reloaded: ", count,
                       count == 1 ? " token" : " tokens"));
  return absl::OkStatus();
}

std::shared_ptr<const TokenSet> TokenStore::current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

grpc::Status TokenAuthProcessor::Process(const InputMetadata& auth_metadata,
                                         grpc::AuthContext* context,
                                         OutputMetadata* consumed_auth_metadata,
                                         OutputMetadata* response_metadata) {
  std::vector<absl::string_view> values;
  auto [begin, end] = auth_metadata.equal_range("authorization");
  for (auto it = begin; it != end; ++it) {
    values.emplace_back(it->second.data(), it->second.size());
  }
  const std::shared_ptr<const TokenSet> tokens = store_->current();

  absl::MutexLock lock(&bind_mu_);
  std::optional<std::string> bound;
  const std::vector<grpc::string_ref> names =
      context->FindPropertyValues(kTokenNameProperty);
  if (!names.empty()) bound.emplace(names.front().data(), names.front().size());
  absl::StatusOr<std::string> name = AuthenticateCall(*tokens, values, bound);
  if (!name.ok()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, kUnauthenticatedMessage);
  }
  if (!bound.has_value()) {
    context->AddProperty(kTokenNameProperty, *name);
    context->SetPeerIdentityPropertyName(kTokenNameProperty);
  }
  for (absl::string_view value : values) {
    consumed_auth_metadata->emplace("authorization", std::string(value));
  }
  return grpc::Status::OK;
}

}  // namespace netprobe
