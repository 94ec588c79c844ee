#ifndef NETPROBE_AGENT_METRICS_REGISTRY_H_
#define NETPROBE_AGENT_METRICS_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agent/metrics/exposition.h"

namespace netprobe::metrics {

// One metric family: a name, a type, a help text and its series, one per label
// set. A label set is the same series whatever the order of its labels; it is
// rendered in the order first given. Thread-safe.
//
// A label set with an invalid or repeated label name (or "le" in a histogram)
// is not a series: operations with it do nothing and the first one is logged.
class Family {
 public:
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;
  virtual ~Family() = default;

  const std::string& name() const { return name_; }
  MetricType type() const { return type_; }

  // Drops the series with exactly these labels (any order); false if none.
  bool Remove(const Labels& labels);
  // Drops every series that has label `label` = `value` (all series of one
  // probe: RemoveMatching("probe", "dns-a")). Returns how many.
  size_t RemoveMatching(std::string_view label, std::string_view value);
  // Drops every series.
  void Clear();
  size_t series_count() const;

  // HELP, TYPE, then every series in the order of their sorted label sets.
  void Render(ExpositionWriter& out) const;

 protected:
  Family(std::string name, MetricType type, std::string help,
         std::vector<double> upper_bounds = {});

  struct Series {
    Labels labels;  // as first given
    double value = 0;
    // Histograms: observations per bucket (not cumulative), one more than
    // upper_bounds_ for +Inf; sum of observed values; count is their total.
    std::vector<uint64_t> buckets;
    double sum = 0;
  };
  // The series for `labels`, created at zero when new; nullptr when `labels`
  // is not a valid label set.
  Series* FindOrCreate(const Labels& labels) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const Series* Find(const Labels& labels) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const std::string name_;
  const MetricType type_;
  const std::string help_;
  const std::vector<double> upper_bounds_;  // histograms: sorted, finite
  mutable absl::Mutex mu_;

 private:
  bool ValidLabels(const Labels& labels) const;
  void RenderSeries(const Series& s, ExpositionWriter& out) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Keyed by the labels sorted by name.
  std::map<Labels, Series> series_ ABSL_GUARDED_BY(mu_);
  bool logged_bad_labels_ ABSL_GUARDED_BY(mu_) = false;
};

class CounterFamily final : public Family {
 public:
  // Adds `delta` (>= 0; negative or NaN deltas are ignored: counters only
  // go up). Add(labels, 0) makes the series appear at 0.
  void Add(const Labels& labels, double delta = 1);
  std::optional<double> Value(const Labels& labels) const;

 private:
  friend class Registry;
  using Family::Family;
};

class GaugeFamily final : public Family {
 public:
  void Set(const Labels& labels, double value);
  void Add(const Labels& labels, double delta);
  std::optional<double> Value(const Labels& labels) const;

 private:
  friend class Registry;
  using Family::Family;
};

class HistogramFamily final : public Family {
 public:
  // Counts `value` in the first bucket whose upper bound is >= value (and in
  // +Inf), adds it to _sum. NaN is ignored.
  void Observe(const Labels& labels, double value);
  // _count of the series, if it exists.
  std::optional<uint64_t> Count(const Labels& labels) const;
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }

 private:
  friend class Registry;
  using Family::Family;
};

// Writes a whole family (Family(), then its samples) at scrape time.
using Collector = std::function<void(ExpositionWriter&)>;

// The agent's metric families. Thread-safe. Families live as long as the
// registry: references returned stay valid.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The family called `name`, created on first use. A name that is invalid
  // (ValidMetricName) or taken by a family of another type gets a detached
  // family that is never rendered, and a log line: a programming error that
  // must not break every scrape. Counter names should end in "_total".
  CounterFamily& Counter(std::string_view name, std::string_view help);
  GaugeFamily& Gauge(std::string_view name, std::string_view help);
  // `upper_bounds`: finite bucket bounds, sorted and deduplicated here; +Inf
  // is implicit. A later call with the same name returns the first family
  // with its bounds.
  HistogramFamily& Histogram(std::string_view name, std::string_view help,
                             std::vector<double> upper_bounds);

  // Adds a collector run by every Render(), after the registry's own
  // families, in the order added. It must write families no other family or
  // collector writes, and must not call AddCollector, RemoveCollector or
  // Render. It may update this registry's families.
  using CollectorId = uint64_t;
  CollectorId AddCollector(Collector collector);
  // Waits for a Render() running the collector to finish, so what the
  // collector refers to may be destroyed afterwards.
  void RemoveCollector(CollectorId id);

  // Family::RemoveMatching on every family (all series of a probe that is
  // gone). Returns how many series were dropped.
  size_t RemoveMatching(std::string_view label, std::string_view value);

  // The whole exposition: families sorted by name, each with all its series
  // (sorted by label set), then the collectors' output.
  std::string Render() const;

 private:
  template <typename F>
  F& GetOrCreate(std::string_view name, MetricType type, std::string_view help,
                 std::vector<double> upper_bounds);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_
      ABSL_GUARDED_BY(mu_);
  // Returned for invalid or conflicting names; never rendered.
  std::vector<std::unique_ptr<Family>> detached_ ABSL_GUARDED_BY(mu_);

  // Held while collectors run, so RemoveCollector can wait for them. Acquired
  // before mu_ when both are held.
  mutable absl::Mutex collect_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::map<CollectorId, Collector> collectors_ ABSL_GUARDED_BY(collect_mu_);
  CollectorId next_collector_id_ ABSL_GUARDED_BY(collect_mu_) = 1;
};

}  // namespace netprobe::metrics

#endif  // NETPROBE_AGENT_METRICS_REGISTRY_H_
