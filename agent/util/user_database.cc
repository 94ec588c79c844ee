#include "agent/util/user_database.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace netprobe {
namespace {

// getpw*_r/getgr*_r want a buffer; entries with many members need more than
// sysconf's hint, hence the retry on ERANGE.
template <typename Entry, typename Key>
bool LookUp(int (*fn)(Key, Entry*, char*, size_t, Entry**), Key key, Entry* entry,
            std::vector<char>* buffer) {
  buffer->resize(16384);
  for (;;) {
    Entry* found = nullptr;
    const int rc = fn(key, entry, buffer->data(), buffer->size(), &found);
    if (rc == ERANGE && buffer->size() < (1u << 24)) {
      buffer->resize(buffer->size() * 4);
      continue;
    }
    return rc == 0 && found != nullptr;
  }
}

}  // namespace

absl::StatusOr<UserEntry> LookUpUser(const std::string& name_or_uid,
                                     absl::string_view field) {
  passwd pw;
  std::vector<char> buffer;
  uint32_t id = 0;
  if (!LookUp(getpwnam_r, name_or_uid.c_str(), &pw, &buffer) &&
      !(absl::SimpleAtoi(name_or_uid, &id) &&
        LookUp(getpwuid_r, uid_t{id}, &pw, &buffer))) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": no user '", name_or_uid, "' on this host"));
  }
  return UserEntry{pw.pw_name, pw.pw_uid, pw.pw_gid};
}

absl::StatusOr<gid_t> LookUpGroup(const std::string& name_or_gid,
                                  absl::string_view field) {
  group entry;
  std::vector<char> buffer;
  uint32_t id = 0;
  if (LookUp(getgrnam_r, name_or_gid.c_str(), &entry, &buffer) ||
      (absl::SimpleAtoi(name_or_gid, &id) &&
       LookUp(getgrgid_r, gid_t{id}, &entry, &buffer))) {
    return entry.gr_gid;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": no group '", name_or_gid, "' on this host"));
}

std::optional<gid_t> GroupByName(const std::string& name) {
  group entry;
  std::vector<char> buffer;
  if (!LookUp(getgrnam_r, name.c_str(), &entry, &buffer)) return std::nullopt;
  return entry.gr_gid;
}

std::string UserName(uid_t uid) {
  passwd pw;
  std::vector<char> buffer;
  return LookUp(getpwuid_r, uid, &pw, &buffer) ? pw.pw_name : "";
}

std::string GroupName(gid_t gid) {
  group entry;
  std::vector<char> buffer;
  return LookUp(getgrgid_r, gid, &entry, &buffer) ? entry.gr_name : "";
}

namespace {

std::string IdWithName(uint32_t id, const std::string& name) {
  return name.empty() ? absl::StrCat(id) : absl::StrCat(id, "(", name, ")");
}

}  // namespace

std::string UserText(uid_t uid) { return IdWithName(uid, UserName(uid)); }

std::string GroupText(gid_t gid) { return IdWithName(gid, GroupName(gid)); }

std::vector<gid_t> GroupsOf(const std::string& user, gid_t primary) {
  std::vector<gid_t> groups;
  int count = 32;
  for (;;) {
    groups.resize(count);
    const int listed = count;
    if (getgrouplist(user.c_str(), primary, groups.data(), &count) >= 0) {
      groups.resize(count);
      return groups;
    }
    if (count <= listed) count = listed * 2;  // glibc sets it; others may not
  }
}

}  // namespace netprobe
