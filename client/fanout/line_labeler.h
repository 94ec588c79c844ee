#ifndef NETPROBE_CLIENT_FANOUT_LINE_LABELER_H_
#define NETPROBE_CLIENT_FANOUT_LINE_LABELER_H_

#include <string>

#include "absl/strings/string_view.h"

namespace netprobe::client {

// `s` as a JSON string literal, quotes included ("a\"b" -> "\"a\\\"b\"").
std::string JsonQuote(absl::string_view s);

// Inserts `"key":"value",` as the first member of the JSON object on `line`
// (`{}` becomes `{"key":"value"}`). Returns an empty string when `line` is
// not an object (does not start with '{' after spaces). The rest of the line
// is kept as it is: protobuf's printer writes one object per line.
std::string InsertJsonMember(absl::string_view line, absl::string_view key,
                             absl::string_view value);

// Labels the lines of one agent's output. Text lines get "[NAME] " padded so
// that the lines of every agent start in the same column; with json, object
// lines get an "agent":"NAME" member instead (lines that are not objects are
// labelled as text). Every input is one line without its '\n'; the result
// ends with '\n'.
class LineLabeler {
 public:
  // `width`: the longest name among the agents shown together.
  LineLabeler(std::string name, size_t width, bool json);

  std::string Text(absl::string_view line) const;
  std::string Label(absl::string_view line) const;  // Text, or JSON when json
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::string prefix_;  // "[name]   "
  bool json_;
};

// Collects bytes and hands out complete lines; what is left after the last
// '\n' waits for more.
class LineSplitter {
 public:
  // Appends `bytes` and calls `line(view)` for each complete line (without
  // its '\n').
  template <typename F>
  void Feed(absl::string_view bytes, F&& line) {
    pending_.append(bytes.data(), bytes.size());
    size_t start = 0;
    for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos;
         start = nl + 1) {
      line(absl::string_view(pending_).substr(start, nl - start));
    }
    pending_.erase(0, start);
  }
  // A last line without '\n', if any; empties the buffer.
  template <typename F>
  void Finish(F&& line) {
    if (!pending_.empty()) line(absl::string_view(pending_));
    pending_.clear();
  }

 private:
  std::string pending_;
};

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_FANOUT_LINE_LABELER_H_
