#ifndef NETPROBE_AGENT_UTIL_USER_DATABASE_H_
#define NETPROBE_AGENT_UTIL_USER_DATABASE_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace netprobe {

// The host's users and groups (getpwnam_r and friends, through NSS: they may
// block on a directory service, so never call them on the event loop).

struct UserEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;  // primary group
};

// A user by name, or by numeric uid when no user has that name.
// INVALID_ARGUMENT "<field>: no user 'NAME' on this host".
absl::StatusOr<UserEntry> LookUpUser(const std::string& name_or_uid,
                                     absl::string_view field);
// A group's gid by name, or a numeric gid when no group has that name.
// INVALID_ARGUMENT "<field>: no group 'NAME' on this host".
absl::StatusOr<gid_t> LookUpGroup(const std::string& name_or_gid,
                                  absl::string_view field);
// A group's gid by name alone; nullopt when there is none.
std::optional<gid_t> GroupByName(const std::string& name);

// Names of ids; empty when the database has none.
std::string UserName(uid_t uid);
std::string GroupName(gid_t gid);
// "1000(alice)", or "1000" when the database has no name for the id.
std::string UserText(uid_t uid);
std::string GroupText(gid_t gid);

// Every group `user` is in: `primary` and the groups listing it (getgrouplist).
std::vector<gid_t> GroupsOf(const std::string& user, gid_t primary);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_UTIL_USER_DATABASE_H_
