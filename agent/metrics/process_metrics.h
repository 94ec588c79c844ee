#ifndef NETPROBE_AGENT_METRICS_PROCESS_METRICS_H_
#define NETPROBE_AGENT_METRICS_PROCESS_METRICS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "agent/metrics/registry.h"
#include "agent/net/small_file.h"  // ReadSmallFile, for the /proc files

// The standard process metrics of Prometheus client libraries, from
// /proc/self, plus netprobe_threads.

namespace netprobe::metrics {

// The fields of /proc/self/stat (proc(5)) these metrics need.
struct ProcStat {
  uint64_t utime_ticks = 0;  // field 14, in clock ticks
  uint64_t stime_ticks = 0;  // field 15
  uint64_t start_ticks = 0;  // field 22, clock ticks after boot
  uint64_t vsize_bytes = 0;  // field 23
  uint64_t rss_pages = 0;    // field 24
};

// Parses the text of /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from the last ')'.
absl::StatusOr<ProcStat> ParseProcStat(std::string_view text);
// The "Threads:" value of /proc/<pid>/status.
absl::StatusOr<uint64_t> ParseStatusThreads(std::string_view text);
// The "btime" value of /proc/stat: boot time in seconds since the epoch.
absl::StatusOr<uint64_t> ParseBootTime(std::string_view text);

// A collector writing process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_start_time_seconds and netprobe_threads. Each scrape reads
// /proc/self/stat, /proc/self/status and lists /proc/self/fd; the start time
// is read once, here. A metric whose source cannot be read is left out
// (with its HELP and TYPE) rather than failing the scrape.
Collector ProcessMetricsCollector();

}  // namespace netprobe::metrics

#endif  // NETPROBE_AGENT_METRICS_PROCESS_METRICS_H_
