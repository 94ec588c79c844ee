#include "client/fanout/labeled_stream.h"

#include <stdio.h>

namespace netprobe::client {

void OutputMerger::Write(FILE* to, absl::string_view lines) {
  if (lines.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  std::fwrite(lines.data(), 1, lines.size(), to);
  std::fflush(to);
}

LabeledStream::LabeledStream(OutputMerger* merger, Target target, LineLabeler labeler)
    : merger_(merger), target_(target), labeler_(std::move(labeler)) {
  cookie_io_functions_t io = {};
  io.write = &LabeledStream::WriteCookie;
  file_ = fopencookie(this, "w", io);
  if (file_ != nullptr) {
    std::setvbuf(file_, nullptr, target == Target::kErr ? _IOLBF : _IOFBF, 1 << 16);
  }
}

LabeledStream::~LabeledStream() { Close(); }

void LabeledStream::Close() {
  if (file_ == nullptr) return;
  std::fclose(file_);  // flushes through WriteCookie
  file_ = nullptr;
  Emit({}, /*last=*/true);
}

ssize_t LabeledStream::WriteCookie(void* cookie, const char* data, size_t size) {
  static_cast<LabeledStream*>(cookie)->Emit(absl::string_view(data, size), false);
  return static_cast<ssize_t>(size);
}

void LabeledStream::Emit(absl::string_view bytes, bool last) {
  std::string lines;
  auto label = [&](absl::string_view line) { lines += labeler_.Label(line); };
  splitter_.Feed(bytes, label);
  if (last) splitter_.Finish(label);
  if (target_ == Target::kOut) {
    merger_->WriteOut(lines);
  } else {
    merger_->WriteErr(lines);
  }
}

}  // namespace netprobe::client
