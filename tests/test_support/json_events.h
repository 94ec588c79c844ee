#ifndef NETPROBE_TESTS_TEST_SUPPORT_JSON_EVENTS_H_
#define NETPROBE_TESTS_TEST_SUPPORT_JSON_EVENTS_H_

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_split.h"

namespace netprobe::testing {

// The events of a `netprobe --json` run: one proto3-JSON object per line of
// `out`. A line that does not parse as `Event` fails the test (and is left
// out).
template <typename Event>
std::vector<Event> JsonEvents(const std::string& out) {
  std::vector<Event> events;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    Event event;
    const auto parsed =
        google::protobuf::util::JsonStringToMessage(std::string(line), &event);
    EXPECT_TRUE(parsed.ok()) << parsed.ToString() << ": " << line;
    if (parsed.ok()) events.push_back(std::move(event));
  }
  return events;
}

}  // namespace netprobe::testing

#endif  // NETPROBE_TESTS_TEST_SUPPORT_JSON_EVENTS_H_
