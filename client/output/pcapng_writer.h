#ifndef NETPROBE_CLIENT_OUTPUT_PCAPNG_WRITER_H_
#define NETPROBE_CLIENT_OUTPUT_PCAPNG_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace netprobe::client {

// Writes one pcapng section (the format of Wireshark and tshark) with any
// number of interfaces: a Section Header Block naming the OS and the
// application, an Interface Description Block per interface (added at any
// time before its first packet, as pcapng allows), Enhanced Packet Blocks
// with nanosecond timestamps (if_tsresol 9) and an optional comment each,
// and Interface Statistics Blocks with the capture's counts and drops.
// Blocks are in the writing host's byte order (readers detect it from the
// byte order mark). The writer never flushes on its own: the caller does
// (Flush), so a pipe to Wireshark stays live. A write error sticks: every
// later call returns it. Not thread-safe.
class PcapngWriter {
 public:
  // Section Header Block options; empty strings are left out.
  struct Section {
    std::string hardware;     // shb_hardware
    std::string os;           // shb_os
    std::string application;  // shb_userappl
    std::string comment;      // opt_comment
  };
  // The section most callers write: shb_os from uname (e.g. "Linux
  // 6.1.0-18-amd64"), shb_hardware the machine ("x86_64"), shb_userappl
  // `application` (e.g. "netprobe 0.9.0").
  static Section DefaultSection(absl::string_view application);

  // Interface Description Block options.
  struct Interface {
    uint32_t dlt = 0;         // DLT_* as the agent reports it (LinktypeForDlt)
    uint32_t snaplen = 0;     // 0 is written as 262144
    std::string name;         // if_name, e.g. "agent-a/eth0"; empty: left out
    std::string description;  // if_description; empty: left out
    std::string filter;       // if_filter (a libpcap filter string); empty: left out
    std::string os;           // if_os, the capturing host's OS; empty: left out
  };

  // Interface Statistics Block: unset counters are left out. Wireshark shows
  // isb_ifdrop as the interface's dropped packets.
  struct InterfaceStats {
    absl::Time time;                   // when the counts were taken
    std::optional<absl::Time> start;   // isb_starttime
    std::optional<absl::Time> end;     // isb_endtime
    std::optional<uint64_t> received;  // isb_ifrecv
    std::optional<uint64_t>
        dropped;  // isb_ifdrop: every drop between the wire and the file
    std::optional<uint64_t> os_dropped;  // isb_osdrop
    std::optional<uint64_t> delivered;   // isb_usrdeliv
    std::string comment;                 // opt_comment
  };

  // `out` must outlive the writer; the writer does not close it.
  explicit PcapngWriter(FILE* out) : out_(out) {}

  // The Section Header Block, once, before anything else.
  absl::Status Begin(const Section& section);

  // An Interface Description Block; returns its interface id (0, 1, ...).
  absl::StatusOr<uint32_t> AddInterface(const Interface& interface);
  size_t interface_count() const { return interfaces_; }

  // One Enhanced Packet Block on `interface_id`. `original_length` below
  // data.size() is raised to it (readers reject such records). Times before
  // the epoch are written as the epoch. `comment` (opt_comment) may be empty.
  absl::Status WritePacket(uint32_t interface_id, absl::Time time,
                           uint32_t original_length, absl::Span<const uint8_t> data,
                           absl::string_view comment = {});

  // The packets of one batch of packed records (PacketBatch.records, see
  // common/packet_records.h), each as WritePacket would, in one fwrite;
  // returns how many. Malformed records: INVALID_ARGUMENT naming the record,
  // and nothing of the batch is written.
  absl::StatusOr<size_t> WriteRecords(uint32_t interface_id, absl::string_view records);

  // An Interface Statistics Block for `interface_id`.
  absl::Status WriteStats(uint32_t interface_id, const InterfaceStats& stats);

  // fflush of `out`.
  absl::Status Flush();

 private:
  absl::Status Check(uint32_t interface_id);
  absl::Status Commit();  // writes buffer_ with one fwrite

  FILE* const out_;
  bool begun_ = false;
  size_t interfaces_ = 0;  // described so far; ids are 0..interfaces_-1
  std::vector<uint8_t> buffer_;
  absl::Status error_;
};

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_PCAPNG_WRITER_H_
