#include "agent/metrics/process_metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/net/unique_fd.h"
#include "common/posix_error.h"

namespace netprobe::metrics {
namespace {

// The value after "<key>" at the start of a line, e.g. "Threads:\t7" -> 7.
absl::StatusOr<uint64_t> ParseKeyedLine(absl::string_view text, absl::string_view key,
                                        absl::string_view source) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, key)) continue;
    uint64_t value = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &value)) return value;
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": bad value in line '", key, line, "'"));
  }
  return absl::NotFoundError(absl::StrCat(source, ": no '", key, "' line"));
}

// Open descriptors of this process, not counting the one listing them.
absl::StatusOr<uint64_t> CountOpenFds() {
  UniqueFd dir_fd(open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd) return PosixError("open(/proc/self/fd)", errno);
  DIR* dir = fdopendir(dir_fd.get());
  if (dir == nullptr) return PosixError("fdopendir(/proc/self/fd)", errno);
  const int own_fd = dir_fd.release();  // closedir() closes it
  uint64_t count = 0;
  while (const dirent* entry = readdir(dir)) {
    int fd = 0;
    if (absl::SimpleAtoi(entry->d_name, &fd) && fd != own_fd) ++count;
  }
  closedir(dir);
  return count;
}

void WriteOne(ExpositionWriter& out, std::string_view name, MetricType type,
              std::string_view help, std::optional<double> value) {
  if (!value) return;
  out.Family(name, type, help);
  out.Sample(name, {}, *value);
}

}  // namespace

absl::StatusOr<ProcStat> ParseProcStat(std::string_view text) {
  absl::string_view all(text.data(), text.size());
  size_t close = all.rfind(')');
  if (close == absl::string_view::npos) {
    return absl::InvalidArgumentError("/proc/self/stat: no ')' after the command name");
  }
  // Fields after the command name, from field 3 (state) on.
  std::vector<absl::string_view> fields =
      absl::StrSplit(all.substr(close + 1), ' ', absl::SkipWhitespace());
  constexpr size_t kFirst = 3;  // the number of fields[0]
  auto field = [&](size_t number, uint64_t& value) {
    return number - kFirst < fields.size() &&
           absl::SimpleAtoi(absl::StripAsciiWhitespace(fields[number - kFirst]), &value);
  };
  ProcStat stat;
  if (!field(14, stat.utime_ticks) || !field(15, stat.stime_ticks) ||
      !field(22, stat.start_ticks) || !field(23, stat.vsize_bytes) ||
      !field(24, stat.rss_pages)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "/proc/self/stat: expected numbers in fields 14, 15, 22, 23, 24; got ",
        fields.size() + kFirst - 1, " fields"));
  }
  return stat;
}

absl::StatusOr<uint64_t> ParseStatusThreads(std::string_view text) {
  return ParseKeyedLine(absl::string_view(text.data(), text.size()),
                        "Threads:", "/proc/self/status");
}

absl::StatusOr<uint64_t> ParseBootTime(std::string_view text) {
  return ParseKeyedLine(absl::string_view(text.data(), text.size()), "btime ",
                        "/proc/stat");
}

Collector ProcessMetricsCollector() {
  const double ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page_size = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::optional<double> start_time;
  absl::StatusOr<std::string> proc_stat = ReadSmallFile("/proc/stat", 1 << 20);
  absl::StatusOr<std::string> self_stat = ReadSmallFile("/proc/self/stat");
  if (proc_stat.ok() && self_stat.ok()) {
    absl::StatusOr<uint64_t> boot = ParseBootTime(*proc_stat);
    absl::StatusOr<ProcStat> stat = ParseProcStat(*self_stat);
    if (boot.ok() && stat.ok()) {
      start_time = static_cast<double>(*boot) +
                   static_cast<double>(stat->start_ticks) / ticks_per_second;
    }
  }

  return [=](ExpositionWriter& out) {
    std::optional<ProcStat> stat;
    if (absl::StatusOr<std::string> text = ReadSmallFile("/proc/self/stat"); text.ok()) {
      if (absl::StatusOr<ProcStat> parsed = ParseProcStat(*text); parsed.ok()) {
        stat = *parsed;
      }
    }
    std::optional<double> threads;
    if (absl::StatusOr<std::string> text = ReadSmallFile("/proc/self/status");
        text.ok()) {
      if (absl::StatusOr<uint64_t> n = ParseStatusThreads(*text); n.ok()) {
        threads = static_cast<double>(*n);
      }
    }
    std::optional<double> open_fds;
    if (absl::StatusOr<uint64_t> n = CountOpenFds(); n.ok()) {
      open_fds = static_cast<double>(*n);
    }
    std::optional<double> max_fds;
    if (rlimit limit; getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      max_fds = static_cast<double>(limit.rlim_cur);  // RLIM_INFINITY: huge, fine
    }

    auto from_stat = [&](auto f) -> std::optional<double> {
      return stat ? std::optional<double>(f(*stat)) : std::nullopt;
    };
    WriteOne(out, "process_cpu_seconds_total", MetricType::kCounter,
             "Total user and system CPU time spent in seconds.",
             from_stat([&](const ProcStat& s) {
               return static_cast<double>(s.utime_ticks + s.stime_ticks) /
                      ticks_per_second;
             }));
    WriteOne(out, "process_max_fds", MetricType::kGauge,
             "Maximum number of open file descriptors.", max_fds);
    WriteOne(out, "process_open_fds", MetricType::kGauge,
             "Number of open file descriptors.", open_fds);
    WriteOne(out, "process_resident_memory_bytes", MetricType::kGauge,
             "Resident memory size in bytes.", from_stat([&](const ProcStat& s) {
               return static_cast<double>(s.rss_pages) * page_size;
             }));
    WriteOne(out, "process_start_time_seconds", MetricType::kGauge,
             "Start time of the process since unix epoch in seconds.", start_time);
    WriteOne(out, "process_virtual_memory_bytes", MetricType::kGauge,
             "Virtual memory size in bytes.", from_stat([](const ProcStat& s) {
               return static_cast<double>(s.vsize_bytes);
             }));
    WriteOne(out, "netprobe_threads", MetricType::kGauge,
             "Threads of the agent process (from /proc/self/status).", threads);
  };
}

}  // namespace netprobe::metrics
