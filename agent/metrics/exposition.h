#ifndef NETPROBE_AGENT_METRICS_EXPOSITION_H_
#define NETPROBE_AGENT_METRICS_EXPOSITION_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The Prometheus text exposition format, version 0.0.4:
// https://prometheus.io/docs/instrumenting/exposition_formats/

namespace netprobe::metrics {

// Label names and values of one series, rendered in this order.
using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram, kSummary };

// The Content-Type of a scrape response in this format.
inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// "counter", "gauge", "histogram", "summary".
std::string_view MetricTypeName(MetricType type);

// [a-zA-Z_:][a-zA-Z0-9_:]*, not starting with "__" (reserved for Prometheus).
bool ValidMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved for Prometheus).
bool ValidLabelName(std::string_view name);

// A sample value: "+Inf", "-Inf", "NaN"; integers up to 2^53 in full without
// an exponent ("1000000000000000"); anything else in the shortest form that
// reads back as the same double ("0.1", "1.5e-07").
std::string FormatValue(double value);

// HELP text: `\` -> `\\`, newline -> `\n`. Invalid UTF-8 becomes U+FFFD (the
// format is UTF-8 and Prometheus rejects a whole scrape over one bad byte).
std::string EscapeHelp(std::string_view help);
// A label value: `\` -> `\\`, `"` -> `\"`, newline -> `\n`; invalid UTF-8 as
// in EscapeHelp.
std::string EscapeLabelValue(std::string_view value);

// Appends families and samples to a text buffer. Not thread-safe.
//
// REQUIRES (not checked here; Registry checks names it is given): names pass
// ValidMetricName, label names pass ValidLabelName (or are "le"/"quantile" as
// the type demands), samples of one family follow its Family() line without
// another family in between, and each family name appears once per scrape.
class ExpositionWriter {
 public:
  // "# HELP <name> <help>" and "# TYPE <name> <type>".
  void Family(std::string_view name, MetricType type, std::string_view help);
  // "<name_with_suffix>{l1="v1",...} <value>"; no braces without labels.
  void Sample(std::string_view name_with_suffix, const Labels& labels, double value);
  // As Sample, with one more label after `labels` (a histogram's "le").
  void Sample(std::string_view name_with_suffix, const Labels& labels,
              std::string_view extra_label, std::string_view extra_value, double value);

  // The text so far; leaves the writer empty.
  std::string Take();

 private:
  std::string out_;
};

}  // namespace netprobe::metrics

#endif  // NETPROBE_AGENT_METRICS_EXPOSITION_H_
