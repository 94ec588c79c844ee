#include "agent/probes/sockets_listing.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/probes/sock_diag_entry.h"

namespace netprobe {
namespace {

std::string Identity(const sock_diag::Socket& s) {
  if (s.cookie != 0) return absl::StrCat(s.family, "/", s.protocol, "/", s.cookie);
  // No cookie (not seen on Linux >= 2.6.27): the addresses and inode.
  return absl::StrCat(s.family, "/", s.protocol, "/",
                      sock_diag::FormatAddress(s.family, s.local), ":", s.local.port, "/",
                      sock_diag::FormatAddress(s.family, s.remote), ":", s.remote.port,
                      "/", s.inode, "/", s.path);
}

std::string KindName(const sock_diag::Query& q) {
  const char* family = q.family == AF_INET ? "IPv4" : q.family == AF_INET6 ? "IPv6" : "";
  const char* protocol = q.family == AF_UNIX         ? "unix"
                         : q.protocol == IPPROTO_TCP ? "tcp"
                         : q.protocol == IPPROTO_UDP ? "udp"
                                                     : "raw";
  return *family ? absl::StrCat(protocol, " (", family, ")") : protocol;
}

// What a watch compares: the entry without what moves with the clock alone
// (a timer's time left, TCP_INFO's time since the last send, receive and ACK),
// or every idle socket with a keepalive timer would "change" every round.
std::string Comparable(const v1::SocketEntry& entry) {
  if (!entry.has_timer() && !entry.has_tcp_info()) return entry.SerializeAsString();
  v1::SocketEntry stable = entry;
  if (stable.has_timer()) stable.mutable_timer()->clear_expires();
  if (stable.has_tcp_info()) {
    v1::TcpInfo* info = stable.mutable_tcp_info();
    info->clear_last_data_sent();
    info->clear_last_data_recv();
    info->clear_last_ack_recv();
  }
  return stable.SerializeAsString();
}

}  // namespace

SocketsRound DiffSockets(const std::vector<sock_diag::Socket>& sockets,
                         const SocketOwners& owners, bool first,
                         SocketsListing* listing) {
  SocketsRound round;
  round.changed.reserve(first || listing == nullptr ? sockets.size() : 0);
  SocketsListing now;
  if (listing != nullptr) now.reserve(sockets.size());
  for (const sock_diag::Socket& socket : sockets) {
    v1::SocketEntry entry;
    ToSocketEntry(socket, &entry);
    if (socket.inode != 0) {
      if (auto it = owners.find(socket.inode); it != owners.end()) {
        for (const SocketOwner& owner : it->second) {
          v1::ProcessRef* ref = entry.add_processes();
          ref->set_pid(owner.pid);
          ref->set_name(owner.name);
          ref->set_fd(owner.fd);
        }
      }
    }
    if (listing == nullptr) {
      // One round only: nothing to serialize, name or keep for the next.
      round.changed.push_back(std::move(entry));
      continue;
    }
    std::string serialized = Comparable(entry);
    const std::string identity = Identity(socket);
    auto before = listing->find(identity);
    const bool changed =
        first || before == listing->end() || before->second != serialized;
    if (before != listing->end()) listing->erase(before);
    if (changed) round.changed.push_back(std::move(entry));
    now.emplace(identity, std::move(serialized));
  }
  if (listing == nullptr) return round;
  // What is left of the previous listing is gone.
  if (!first) {
    for (const auto& [identity, serialized] : *listing) {
      round.removed.emplace_back().ParseFromString(serialized);
    }
  }
  *listing = std::move(now);
  return round;
}

v1::SocketsSummary Summarize(const Sockstat& counters,
                             const std::vector<sock_diag::Socket>& sockets) {
  v1::SocketsSummary out;
  out.set_sockets_used(counters.sockets_used);
  out.set_tcp_inuse(counters.tcp_inuse);
  out.set_tcp6_inuse(counters.tcp6_inuse);
  out.set_tcp_orphan(counters.tcp_orphan);
  out.set_tcp_alloc(counters.tcp_alloc);
  out.set_tcp_timewait(counters.tcp_tw);
  out.set_tcp_established(counters.tcp_curr_estab);
  out.set_udp_inuse(counters.udp_inuse);
  out.set_udp6_inuse(counters.udp6_inuse);
  out.set_raw_inuse(counters.raw_inuse);
  out.set_raw6_inuse(counters.raw6_inuse);
  out.set_frag_inuse(counters.frag_inuse);
  out.set_frag6_inuse(counters.frag6_inuse);
  // Counted by (netid, state) in a sorted map: the same listing gives the
  // same order.
  std::map<std::pair<std::string, std::string>, uint64_t> counts;
  for (const sock_diag::Socket& socket : sockets) {
    v1::SocketEntry entry;
    ToSocketEntry(socket, &entry);
    ++counts[{entry.netid(), entry.state()}];
  }
  for (const auto& [key, count] : counts) {
    v1::SocketCount* listed = out.add_listed();
    listed->set_netid(key.first);
    listed->set_state(key.second);
    listed->set_count(count);
  }
  return out;
}

SocketsRound ListSockets(const SocketsPlan& plan, bool first, SocketsListing* listing,
                         SocketOpener* host) {
  std::vector<sock_diag::Socket> sockets;
  std::vector<sock_diag::Socket> dumped;
  std::vector<std::string> unavailable;
  absl::Status error;
  for (const sock_diag::Query& query : plan.queries) {
    dumped.clear();
    absl::StatusOr<sock_diag::ReplySummary> done = host->DumpSockets(query, &dumped);
    if (!done.ok()) {
      if (done.status().code() == absl::StatusCode::kUnimplemented) {
        unavailable.push_back(
            absl::StrCat(KindName(query), ": ", done.status().message()));
        continue;
      }
      error = absl::Status(done.status().code(),
                           absl::StrCat("listing ", KindName(query),
                                        " sockets: ", done.status().message()));
      break;
    }
    // Filtered where they were dumped; the first kind's list is taken as it
    // is (a Socket is 400 bytes: 10,000 of them were copied once more here).
    dumped.erase(std::remove_if(dumped.begin(), dumped.end(),
                                [&plan](const sock_diag::Socket& socket) {
                                  return !plan.Matches(socket);
                                }),
                 dumped.end());
    if (sockets.empty()) {
      sockets.swap(dumped);
    } else {
      sockets.reserve(sockets.size() + dumped.size());
      std::move(dumped.begin(), dumped.end(), std::back_inserter(sockets));
    }
  }
  if (!error.ok()) {
    SocketsRound round;
    round.error = std::move(error);
    return round;
  }
  std::optional<v1::SocketsSummary> summary;
  if (plan.summary) {
    absl::StatusOr<Sockstat> counters = host->ReadSocketCounters();
    if (!counters.ok()) {
      SocketsRound round;
      round.error = absl::Status(
          counters.status().code(),
          absl::StrCat("the socket summary (ss -s): ", counters.status().message()));
      return round;
    }
    summary = Summarize(*counters, sockets);
  }
  const SocketOwners owners = plan.processes ? host->ReadOwners() : SocketOwners();
  SocketsRound round = DiffSockets(sockets, owners, first, listing);
  round.unavailable = std::move(unavailable);
  round.summary = std::move(summary);
  return round;
}

}  // namespace netprobe
