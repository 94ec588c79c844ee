#ifndef NETPROBE_CLIENT_FANOUT_LABELED_STREAM_H_
#define NETPROBE_CLIENT_FANOUT_LABELED_STREAM_H_

#include <cstdio>
#include <mutex>
#include <string>

#include "absl/strings/string_view.h"
#include "client/fanout/line_labeler.h"

namespace netprobe::client {

// The real stdout and stderr, shared by every agent's output. Writes whole
// lines under one mutex and flushes them, so lines of different agents never
// interleave within a line.
class OutputMerger {
 public:
  OutputMerger(FILE* out, FILE* err) : out_(out), err_(err) {}
  void WriteOut(absl::string_view lines) { Write(out_, lines); }
  void WriteErr(absl::string_view lines) { Write(err_, lines); }

 private:
  void Write(FILE* to, absl::string_view lines);
  std::mutex mu_;
  FILE* const out_;
  FILE* const err_;
};

// A FILE* for a command to write to as if it were stdout (or stderr): the
// bytes are split into lines, each labelled by `labeler`, and every flush of
// the FILE hands its complete lines to the merger at once. Close() flushes
// and emits a last line that lacks its '\n'.
class LabeledStream {
 public:
  enum class Target { kOut, kErr };
  // Line-buffered for kErr (messages show at once, as on stderr); fully
  // buffered for kOut, where commands flush once per batch of events.
  LabeledStream(OutputMerger* merger, Target target, LineLabeler labeler);
  ~LabeledStream();
  LabeledStream(const LabeledStream&) = delete;
  LabeledStream& operator=(const LabeledStream&) = delete;

  FILE* file() const { return file_; }
  void Close();

 private:
  static ssize_t WriteCookie(void* cookie, const char* data, size_t size);
  void Emit(absl::string_view bytes, bool last);

  OutputMerger* const merger_;
  const Target target_;
  const LineLabeler labeler_;
  LineSplitter splitter_;
  FILE* file_ = nullptr;
};

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_FANOUT_LABELED_STREAM_H_
