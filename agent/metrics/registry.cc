#include "agent/metrics/registry.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/util/log.h"

namespace netprobe::metrics {
namespace {

Labels SortedKey(const Labels& labels) {
  Labels key = labels;
  std::sort(key.begin(), key.end());
  return key;
}

std::vector<double> NormalizeBounds(std::vector<double> bounds) {
  std::erase_if(bounds, [](double b) { return !std::isfinite(b); });
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  return bounds;
}

}  // namespace

// ---- Family -------------------------------------------------------------------

Family::Family(std::string name, MetricType type, std::string help,
               std::vector<double> upper_bounds)
    : name_(std::move(name)),
      type_(type),
      help_(std::move(help)),
      upper_bounds_(std::move(upper_bounds)) {}

bool Family::ValidLabels(const Labels& labels) const {
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string& label = labels[i].first;
    if (!ValidLabelName(label)) return false;
    if (type_ == MetricType::kHistogram && label == "le") return false;
    if (type_ == MetricType::kSummary && label == "quantile") return false;
    for (size_t j = 0; j < i; ++j) {
      if (labels[j].first == label) return false;
    }
  }
  return true;
}

Family::Series* Family::FindOrCreate(const Labels& labels) {
  Labels key = SortedKey(labels);
  if (auto it = series_.find(key); it != series_.end()) return &it->second;
  if (!ValidLabels(labels)) {
    if (!logged_bad_labels_) {
      logged_bad_labels_ = true;
      std::string text;
      for (const auto& [label, value] : labels) absl::StrAppend(&text, " '", label, "'");
      LogLine(absl::StrCat("metrics: ", name_,
                           ": series ignored, invalid or repeated label names:", text));
    }
    return nullptr;
  }
  Series& series = series_[std::move(key)];
  series.labels = labels;
  if (type_ == MetricType::kHistogram) series.buckets.assign(upper_bounds_.size() + 1, 0);
  return &series;
}

const Family::Series* Family::Find(const Labels& labels) const {
  auto it = series_.find(SortedKey(labels));
  return it == series_.end() ? nullptr : &it->second;
}

bool Family::Remove(const Labels& labels) {
  absl::MutexLock lock(&mu_);
  return series_.erase(SortedKey(labels)) > 0;
}

size_t Family::RemoveMatching(std::string_view label, std::string_view value) {
  absl::MutexLock lock(&mu_);
  return std::erase_if(series_, [&](const auto& entry) {
    for (const auto& [l, v] : entry.first) {
      if (l == label && v == value) return true;
    }
    return false;
  });
}

void Family::Clear() {
  absl::MutexLock lock(&mu_);
  series_.clear();
}

size_t Family::series_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return series_.size();
}

void Family::Render(ExpositionWriter& out) const {
  absl::ReaderMutexLock lock(&mu_);
  out.Family(name_, type_, help_);
  for (const auto& [key, series] : series_) RenderSeries(series, out);
}

void Family::RenderSeries(const Series& s, ExpositionWriter& out) const {
  if (type_ != MetricType::kHistogram) {
    out.Sample(name_, s.labels, s.value);
    return;
  }
  const std::string bucket = absl::StrCat(name_, "_bucket");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    cumulative += s.buckets[i];
    out.Sample(bucket, s.labels, "le", FormatValue(upper_bounds_[i]),
               static_cast<double>(cumulative));
  }
  cumulative += s.buckets.back();
  out.Sample(bucket, s.labels, "le", "+Inf", static_cast<double>(cumulative));
  out.Sample(absl::StrCat(name_, "_sum"), s.labels, s.sum);
  out.Sample(absl::StrCat(name_, "_count"), s.labels, static_cast<double>(cumulative));
}

// ---- typed families -------------------------------------------------------------

void CounterFamily::Add(const Labels& labels, double delta) {
  if (!(delta >= 0)) return;  // also NaN
  absl::MutexLock lock(&mu_);
  if (Series* s = FindOrCreate(labels)) s->value += delta;
}

std::optional<double> CounterFamily::Value(const Labels& labels) const {
  absl::ReaderMutexLock lock(&mu_);
  const Series* s = Find(labels);
  return s ? std::optional<double>(s->value) : std::nullopt;
}

void GaugeFamily::Set(const Labels& labels, double value) {
  absl::MutexLock lock(&mu_);
  if (Series* s = FindOrCreate(labels)) s->value = value;
}

void GaugeFamily::Add(const Labels& labels, double delta) {
  absl::MutexLock lock(&mu_);
  if (Series* s = FindOrCreate(labels)) s->value += delta;
}

std::optional<double> GaugeFamily::Value(const Labels& labels) const {
  absl::ReaderMutexLock lock(&mu_);
  const Series* s = Find(labels);
  return s ? std::optional<double>(s->value) : std::nullopt;
}

void HistogramFamily::Observe(const Labels& labels, double value) {
  if (std::isnan(value)) return;
  size_t bucket = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) -
                  upper_bounds_.begin();
  absl::MutexLock lock(&mu_);
  if (Series* s = FindOrCreate(labels)) {
    ++s->buckets[bucket];
    s->sum += value;
  }
}

std::optional<uint64_t> HistogramFamily::Count(const Labels& labels) const {
  absl::ReaderMutexLock lock(&mu_);
  const Series* s = Find(labels);
  if (s == nullptr) return std::nullopt;
  uint64_t count = 0;
  for (uint64_t b : s->buckets) count += b;
  return count;
}

// ---- Registry -------------------------------------------------------------------

template <typename F>
F& Registry::GetOrCreate(std::string_view name, MetricType type, std::string_view help,
                         std::vector<double> upper_bounds) {
  absl::MutexLock lock(&mu_);
  auto detach = [&](absl::string_view why) -> F& {
    LogLine(absl::StrCat("metrics: family '", std::string(name), "' ", why,
                         "; its samples are dropped"));
    auto* family =
        new F(std::string(name), type, std::string(help), std::move(upper_bounds));
    detached_.emplace_back(family);
    return *family;
  };
  if (!ValidMetricName(name)) return detach("has an invalid name");
  if (auto it = families_.find(name); it != families_.end()) {
    if (it->second->type() != type) return detach("already exists with another type");
    return static_cast<F&>(*it->second);
  }
  auto* family =
      new F(std::string(name), type, std::string(help), std::move(upper_bounds));
  families_.emplace(std::string(name), std::unique_ptr<Family>(family));
  return *family;
}

CounterFamily& Registry::Counter(std::string_view name, std::string_view help) {
  return GetOrCreate<CounterFamily>(name, MetricType::kCounter, help, {});
}

GaugeFamily& Registry::Gauge(std::string_view name, std::string_view help) {
  return GetOrCreate<GaugeFamily>(name, MetricType::kGauge, help, {});
}

HistogramFamily& Registry::Histogram(std::string_view name, std::string_view help,
                                     std::vector<double> upper_bounds) {
  return GetOrCreate<HistogramFamily>(name, MetricType::kHistogram, help,
                                      NormalizeBounds(std::move(upper_bounds)));
}

Registry::CollectorId Registry::AddCollector(Collector collector) {
  absl::MutexLock lock(&collect_mu_);
  CollectorId id = next_collector_id_++;
  collectors_.emplace(id, std::move(collector));
  return id;
}

void Registry::RemoveCollector(CollectorId id) {
  absl::MutexLock lock(&collect_mu_);
  collectors_.erase(id);
}

size_t Registry::RemoveMatching(std::string_view label, std::string_view value) {
  absl::MutexLock lock(&mu_);
  size_t removed = 0;
  for (const auto& [name, family] : families_) {
    removed += family->RemoveMatching(label, value);
  }
  return removed;
}

std::string Registry::Render() const {
  absl::MutexLock collect_lock(&collect_mu_);
  std::vector<const Family*> families;
  {
    absl::MutexLock lock(&mu_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_) families.push_back(family.get());
  }
  // Families are never destroyed before the registry: rendering them outside
  // mu_ lets a slow scrape not hold up Counter() and friends.
  ExpositionWriter out;
  for (const Family* family : families) family->Render(out);
  for (const auto& [id, collector] : collectors_) collector(out);
  return out.Take();
}

}  // namespace netprobe::metrics
