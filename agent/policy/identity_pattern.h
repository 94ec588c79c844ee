#ifndef NETPROBE_AGENT_POLICY_IDENTITY_PATTERN_H_
#define NETPROBE_AGENT_POLICY_IDENTITY_PATTERN_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/policy/caller.h"

namespace netprobe {

// One IdentityRule.identity, parsed, with the names in it looked up:
//   "x509:NAME", "token:NAME"  that identity exactly
//   "*"                        every caller a certificate or token identifies
//   "unix:uid=N", "unix:user=NAME"   a unix-socket caller of that uid
//   "unix:gid=N", "unix:group=NAME"  a unix-socket caller in that group
//                                    (primary or supplementary)
//   "unix:*"                   every unix-socket caller
struct IdentityPattern {
  enum class Kind { kExact, kAnyIdentified, kAnyUnix, kUid, kGroup };
  Kind kind = Kind::kExact;
  std::string text;   // as written
  std::string exact;  // kExact
  uint32_t id = 0;    // kUid: the uid; kGroup: the gid
  // kUid: the user's name and groups in the user database, for telling
  // which group rules also match it; empty when the uid has no entry.
  std::string user;
  std::vector<gid_t> user_groups;

  bool Matches(const Caller& caller) const;
};

// INVALID_ARGUMENT naming `field` for an unknown form, an empty name, a uid
// or gid out of range (0 to 4294967294), or a user or group the host does
// not know. Looks names up in the user database (may block: not on the loop).
absl::StatusOr<IdentityPattern> ParseIdentityPattern(const std::string& text,
                                                     absl::string_view field);

// The rules are matched in order and the first applies, so two rules that
// can match one caller are an error (their fields are never merged; which
// applied would depend on their order): the same identity, a uid twice, a
// user and a group the user is in, a group twice. A catch-all ("*",
// "unix:*") comes after every rule of its kind; one after it could never
// apply. INVALID_ARGUMENT naming both fields, else OK.
absl::Status CheckNoOverlap(const IdentityPattern& earlier,
                            absl::string_view earlier_field, const IdentityPattern& later,
                            absl::string_view later_field);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_POLICY_IDENTITY_PATTERN_H_
