#include "agent/server/privileges.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/net/capabilities.h"
#include "agent/responders/udp_echo_responder.h"
#include "agent/util/log.h"
#include "agent/util/user_database.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

struct CapFree {
  void operator()(cap_t caps) const { cap_free(caps); }
};
using UniqueCaps = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

std::string CapName(cap_value_t cap) {
  char* name = cap_to_name(cap);
  std::string out = name != nullptr ? absl::AsciiStrToUpper(name) : absl::StrCat(cap);
  cap_free(name);
  return out;
}

absl::StatusOr<int> ThreadCount() {
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return PosixError("/proc/self/task", errno);
  int threads = 0;
  while (const dirent* entry = readdir(dir)) threads += entry->d_name[0] != '.';
  closedir(dir);
  return threads;
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Whether the process ended up as asked: all three uids and gids, the
// groups, and exactly `want` as its capability sets.
absl::Status Verify(const RunAs& run_as, bool switched, cap_t want) {
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  getresuid(&ruid, &euid, &suid);
  getresgid(&rgid, &egid, &sgid);
  if (switched && (ruid != run_as.uid || euid != run_as.uid || suid != run_as.uid ||
                   rgid != run_as.gid || egid != run_as.gid || sgid != run_as.gid)) {
    return absl::InternalError(
        absl::StrCat("after switching to ", run_as.user, " the agent runs as uids ", ruid,
                     "/", euid, "/", suid, " gids ", rgid, "/", egid, "/", sgid));
  }
  UniqueCaps now(cap_get_proc());
  if (now == nullptr) return PosixError("cap_get_proc", errno);
  if (cap_compare(now.get(), want) != 0) {
    char* text = cap_to_text(now.get(), nullptr);
    absl::Status error = absl::InternalError(
        absl::StrCat("capabilities after the drop are '", text ? text : "?", "'"));
    cap_free(text);
    return error;
  }
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
    return absl::InternalError("no_new_privs did not stick");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RunAs> ResolveRunAs(const std::string& user, const std::string& group,
                                   const std::string& socket_group) {
  NETPROBE_ASSIGN_OR_RETURN(const UserEntry user_entry, LookUpUser(user, "user"));
  RunAs run_as;
  run_as.user = user_entry.name;
  run_as.uid = user_entry.uid;
  run_as.gid = user_entry.gid;
  if (!group.empty()) {
    NETPROBE_ASSIGN_OR_RETURN(run_as.gid, LookUpGroup(group, "group"));
  }
  run_as.groups = GroupsOf(run_as.user, run_as.gid);
  if (!socket_group.empty()) {
    NETPROBE_ASSIGN_OR_RETURN(const gid_t gid,
                              LookUpGroup(socket_group, "unix_socket_group"));
    if (std::find(run_as.groups.begin(), run_as.groups.end(), gid) ==
        run_as.groups.end()) {
      run_as.groups.push_back(gid);
    }
  }
  return run_as;
}

std::vector<cap_value_t> KeptCapabilities(bool low_port) {
  std::vector<cap_value_t> keep = {CAP_NET_RAW, CAP_NET_ADMIN};
  if (low_port) keep.push_back(CAP_NET_BIND_SERVICE);
  return keep;
}

absl::Status DropPrivileges(const RunAs& run_as, const std::vector<cap_value_t>& keep) {
  NETPROBE_ASSIGN_OR_RETURN(const int threads, ThreadCount());
  if (threads != 1) {
    return absl::InternalError(absl::StrCat(
        "privileges must be dropped before any thread starts; ", threads, " run"));
  }
  const bool root = geteuid() == 0;
  if (!root && (run_as.uid != getuid() || run_as.gid != getgid())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "user: the agent runs as uid ", getuid(), " gid ", getgid(),
        ", not root, so it cannot switch to ", run_as.user, " (uid ", run_as.uid, " gid ",
        run_as.gid, "); start it as root, or as that user"));
  }
  UniqueCaps before(cap_get_proc());
  if (before == nullptr) return PosixError("cap_get_proc", errno);
  UniqueCaps want(cap_init());
  if (want == nullptr) return PosixError("cap_init", errno);
  for (cap_value_t cap : keep) {
    cap_flag_value_t held = CAP_CLEAR;
    cap_get_flag(before.get(), cap, CAP_PERMITTED, &held);
    if (held != CAP_SET) continue;
    cap_set_flag(want.get(), CAP_PERMITTED, 1, &cap, CAP_SET);
    cap_set_flag(want.get(), CAP_EFFECTIVE, 1, &cap, CAP_SET);
  }

  // The bounding set first, while CAP_SETPCAP is still effective (it goes
  // with the uid switch). It bounds what any later execve could grant.
  cap_flag_value_t setpcap = CAP_CLEAR;
  cap_get_flag(before.get(), CAP_SETPCAP, CAP_EFFECTIVE, &setpcap);
  if (setpcap == CAP_SET) {
    for (cap_value_t cap = 0; cap < static_cast<cap_value_t>(cap_max_bits()); ++cap) {
      if (std::find(keep.begin(), keep.end(), cap) != keep.end()) continue;
      if (cap_drop_bound(cap) != 0) {
        return PosixError(
            absl::StrCat("dropping ", CapName(cap), " from the bounding set"), errno);
      }
    }
  }
  // Keep-caps makes setuid() from root leave the permitted set alone (it
  // clears the effective set); the permitted set is cut to `keep` below.
  if (root) {
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
      return PosixError("prctl(PR_SET_KEEPCAPS)", errno);
    }
    if (setgroups(run_as.groups.size(), run_as.groups.data()) != 0) {
      return PosixError("setgroups", errno);
    }
    if (setresgid(run_as.gid, run_as.gid, run_as.gid) != 0) {
      return PosixError(absl::StrCat("setresgid(", run_as.gid, ")"), errno);
    }
    if (setresuid(run_as.uid, run_as.uid, run_as.uid) != 0) {
      return PosixError(absl::StrCat("setresuid(", run_as.uid, ")"), errno);
    }
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
      return PosixError("prctl(PR_SET_KEEPCAPS, 0)", errno);
    }
  }
  // Lowering permitted and inheritable is always allowed; the ambient set
  // (from systemd's AmbientCapabilities=, say) would only pass capabilities
  // on to programs the agent runs, and it runs none.
  if (cap_set_proc(want.get()) != 0) return PosixError("cap_set_proc", errno);
  if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() != 0) {
    return PosixError("cap_reset_ambient", errno);
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return PosixError("prctl(PR_SET_NO_NEW_PRIVS)", errno);
  }
  return Verify(run_as, root, want.get());
}

absl::Status DropAgentPrivileges(const AgentOptions& options,
                                 const std::vector<ListenAddress>& addresses) {
  if (options.user.empty()) {
    if (options.group.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError("group: only with user");
  }
  NETPROBE_ASSIGN_OR_RETURN(const RunAs run_as, ResolveRunAs(options.user, options.group,
                                                             options.unix_socket_group));
  bool low_port = false;
  for (const ListenAddress& address : addresses) {
    if (address.kind == ListenAddress::Kind::kTcp && address.port != 0 &&
        address.port < 1024) {
      low_port = true;
    }
    // PrepareUnixSocketDir() made sure the default directory exists; it is
    // the agent's alone, so it follows the agent's user from start to start
    // (a root-owned one left by an earlier run would lock the user out).
    if (address.kind == ListenAddress::Kind::kUnix &&
        address.path == kDefaultUnixSocket && geteuid() == 0) {
      const std::string dir = DirectoryOf(address.path);
      if (chown(dir.c_str(), run_as.uid, run_as.gid) != 0) {
        return PosixError(absl::StrCat("chown ", dir), errno);
      }
    }
  }
  for (const std::string& text : options.udp_echo) {
    NETPROBE_ASSIGN_OR_RETURN(SocketAddress address,
                              ParseUdpEchoAddress(text, "udp_echo"));
    if (address.port() != 0 && address.port() < 1024) low_port = true;
  }
  if (!options.iperf_server.empty()) {
    // Its UDP sockets are bound again for every stream, after the drop.
    absl::StatusOr<SocketAddress> iperf =
        ParseUdpEchoAddress(options.iperf_server, "iperf_server");
    if (iperf.ok() && iperf->port() != 0 && iperf->port() < 1024) low_port = true;
  }
  if (!options.metrics_listen.empty()) {
    absl::StatusOr<ListenAddress> metrics = ParseListenAddress(options.metrics_listen);
    if (metrics.ok() && metrics->port != 0 && metrics->port < 1024) low_port = true;
  }
  const std::vector<cap_value_t> keep = KeptCapabilities(low_port);
  NETPROBE_RETURN_IF_ERROR(DropPrivileges(run_as, keep));

  for (const ListenAddress& address : addresses) {
    if (address.kind != ListenAddress::Kind::kUnix) continue;
    const std::string dir = DirectoryOf(address.path);
    if (access(dir.c_str(), W_OK | X_OK) != 0) {
      const int err = errno;
      return absl::FailedPreconditionError(absl::StrCat(
          "unix socket directory ", dir, " is not writable by user ", run_as.user, " (",
          ErrnoName(err), "): the agent creates and removes its socket there"));
    }
  }
  const std::vector<std::string> kept = EffectiveNetCapabilities();
  LogLine(absl::StrCat("netprobe-agent: running as user ", run_as.user, " (uid ",
                       run_as.uid, " gid ", run_as.gid, "), keeping ",
                       kept.empty() ? "no capabilities" : absl::StrJoin(kept, " "),
                       "; no new privileges"));
  return absl::OkStatus();
}

}  // namespace netprobe
