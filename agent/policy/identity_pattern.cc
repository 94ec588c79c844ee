#include "agent/policy/identity_pattern.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/util/user_database.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

// (uid_t)-1 means "no id" to chown and setresuid; it is nobody's.
constexpr uint64_t kMaxId = 4294967294u;

constexpr char kForms[] =
    "\"x509:NAME\", \"token:NAME\", \"*\", \"unix:uid=N\", \"unix:user=NAME\", "
    "\"unix:gid=N\", \"unix:group=NAME\" or \"unix:*\"";

absl::StatusOr<uint32_t> ParseId(absl::string_view digits, absl::string_view what,
                                 absl::string_view field) {
  uint64_t id = 0;
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(digits, &id) || id > kMaxId) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", what, " '", digits, "' is out of range (0 to ", kMaxId, ")"));
  }
  return static_cast<uint32_t>(id);
}

bool IsUnixKind(IdentityPattern::Kind kind) {
  return kind == IdentityPattern::Kind::kAnyUnix || kind == IdentityPattern::Kind::kUid ||
         kind == IdentityPattern::Kind::kGroup;
}

// The user of a uid pattern is in the group of a group pattern.
bool UserInGroup(const IdentityPattern& uid, const IdentityPattern& group) {
  return std::find(uid.user_groups.begin(), uid.user_groups.end(), group.id) !=
         uid.user_groups.end();
}

}  // namespace

bool IdentityPattern::Matches(const Caller& caller) const {
  switch (kind) {
    case Kind::kExact:
      return caller.identity == exact;
    case Kind::kAnyIdentified:
      return !caller.identity.empty() && !caller.unix_peer.has_value();
    case Kind::kAnyUnix:
      return caller.unix_peer.has_value();
    case Kind::kUid:
      return caller.unix_peer.has_value() && caller.unix_peer->uid == id;
    case Kind::kGroup:
      return caller.unix_peer.has_value() &&
             (caller.unix_peer->gid == id ||
              std::find(caller.unix_peer->groups.begin(), caller.unix_peer->groups.end(),
                        id) != caller.unix_peer->groups.end());
  }
  return false;
}

absl::StatusOr<IdentityPattern> ParseIdentityPattern(const std::string& text,
                                                     absl::string_view field) {
  IdentityPattern out;
  out.text = text;
  absl::string_view rest = text;
  if (text == "*") {
    out.kind = IdentityPattern::Kind::kAnyIdentified;
    return out;
  }
  if (text == "unix:*") {
    out.kind = IdentityPattern::Kind::kAnyUnix;
    return out;
  }
  if (absl::StartsWith(text, "x509:") || absl::StartsWith(text, "token:")) {
    if (text.back() == ':') {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": '", text, "' names nobody (", kForms, ")"));
    }
    out.exact = text;
    return out;
  }
  if (absl::ConsumePrefix(&rest, "unix:uid=")) {
    out.kind = IdentityPattern::Kind::kUid;
    NETPROBE_ASSIGN_OR_RETURN(out.id, ParseId(rest, "uid", field));
    out.user = UserName(out.id);
    if (!out.user.empty()) {
      absl::StatusOr<UserEntry> user = LookUpUser(out.user, field);
      if (user.ok()) out.user_groups = GroupsOf(user->name, user->gid);
    }
    return out;
  }
  if (absl::ConsumePrefix(&rest, "unix:user=")) {
    out.kind = IdentityPattern::Kind::kUid;
    if (rest.empty() || absl::ascii_isdigit(rest.front())) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": '", text, "': unix:user= takes a user name (unix:uid= a number)"));
    }
    NETPROBE_ASSIGN_OR_RETURN(UserEntry user, LookUpUser(std::string(rest), field));
    out.id = user.uid;
    out.user = user.name;
    out.user_groups = GroupsOf(user.name, user.gid);
    return out;
  }
  if (absl::ConsumePrefix(&rest, "unix:gid=")) {
    out.kind = IdentityPattern::Kind::kGroup;
    NETPROBE_ASSIGN_OR_RETURN(out.id, ParseId(rest, "gid", field));
    return out;
  }
  if (absl::ConsumePrefix(&rest, "unix:group=")) {
    out.kind = IdentityPattern::Kind::kGroup;
    if (rest.empty() || absl::ascii_isdigit(rest.front())) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": '", text, "': unix:group= takes a group name (unix:gid= a number)"));
    }
    std::optional<gid_t> gid = GroupByName(std::string(rest));
    if (!gid.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": no group '", rest, "' on this host"));
    }
    out.id = *gid;
    return out;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": '", text, "' is not an identity (", kForms, ")"));
}

absl::Status CheckNoOverlap(const IdentityPattern& earlier,
                            absl::string_view earlier_field, const IdentityPattern& later,
                            absl::string_view later_field) {
  using Kind = IdentityPattern::Kind;
  auto error = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(later_field, ": '", later.text, "' overlaps ", earlier_field, " ('",
                     earlier.text, "'): ", why,
                     "; give each caller one rule (a rule's fields are not merged "
                     "with another's)"));
  };
  const bool later_unix = IsUnixKind(later.kind);
  if (earlier.kind == Kind::kAnyUnix && later_unix) {
    return error("every unix caller matches the earlier rule, so this one never applies");
  }
  if (earlier.kind == Kind::kAnyIdentified &&
      (later.kind == Kind::kExact || later.kind == Kind::kAnyIdentified)) {
    return error(
        "every identified caller matches the earlier rule, so this one never applies");
  }
  if (earlier.kind == Kind::kExact && later.kind == Kind::kExact &&
      earlier.exact == later.exact) {
    return error("the same identity twice");
  }
  if (earlier.kind == Kind::kUid && later.kind == Kind::kUid && earlier.id == later.id) {
    return error(absl::StrCat("both are uid ", later.id));
  }
  if (earlier.kind == Kind::kGroup && later.kind == Kind::kGroup &&
      earlier.id == later.id) {
    return error(absl::StrCat("both are gid ", later.id));
  }
  if (earlier.kind == Kind::kUid && later.kind == Kind::kGroup &&
      UserInGroup(earlier, later)) {
    return error(
        absl::StrCat("user ", earlier.user, " is in group ", GroupText(later.id)));
  }
  if (earlier.kind == Kind::kGroup && later.kind == Kind::kUid &&
      UserInGroup(later, earlier)) {
    return error(
        absl::StrCat("user ", later.user, " is in group ", GroupText(earlier.id)));
  }
  return absl::OkStatus();
}

}  // namespace netprobe
