#include "agent/iperf3/wire.h"

#include <arpa/inet.h>
#include <endian.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "agent/iperf3/json.h"

namespace netprobe::iperf3 {
namespace {

// Sanity limits of iperf3's own argument checks (iperf.h, 3.12).
constexpr int64_t kMaxTimeSeconds = 86400;            // MAX_TIME
constexpr int64_t kMaxMss = 9 * 1024;                 // MAX_MSS
constexpr int64_t kMaxStreams = 128;                  // MAX_STREAMS
constexpr int64_t kMaxTcpBuffer = 512 * 1024 * 1024;  // MAX_TCP_BUFFER
constexpr int64_t kMaxBlockSize = 1024 * 1024;        // MAX_BLOCKSIZE
constexpr int64_t kMinUdpBlockSize = 4 + 4 + 8;       // MIN_UDP_BLOCKSIZE
constexpr int64_t kMaxUdpBlockSize = 65535 - 8 - 20;  // MAX_UDP_BLOCKSIZE
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr double kTwoTo53 = 9007199254740992.0;

// Reads the members of one JSON object; every error names the member.
class MemberReader {
 public:
  MemberReader(const JsonValue& object, absl::string_view what)
      : object_(object), what_(what) {}

  const JsonValue* Find(absl::string_view key) const { return object_.Find(key); }

  absl::Status Error(absl::string_view key, absl::string_view problem) const {
    return absl::InvalidArgumentError(absl::StrCat(what_, ": ", key, " ", problem));
  }

  absl::Status Missing(absl::string_view key) const { return Error(key, "is missing"); }

  // An integer in [min, max]. `wrapped`: a value in [2^63, 2^64) is the
  // unsigned print of a negative int64 (iperf3 3.12 prints -1 that way).
  absl::Status Integer(absl::string_view key, int64_t min, int64_t max, bool required,
                       int64_t* out, bool wrapped = false) const {
    const JsonValue* v = Find(key);
    if (v == nullptr) return required ? Missing(key) : absl::OkStatus();
    if (v->type != JsonValue::Type::kNumber) {
      return Error(key, absl::StrCat("is ", v->TypeName(), ", not a number"));
    }
    int64_t value;
    if (v->int64) {
      value = *v->int64;
    } else if (wrapped && v->uint64) {
      value = static_cast<int64_t>(*v->uint64);
    } else if (std::isfinite(v->number) && v->number != std::trunc(v->number)) {
      return Error(key, absl::StrCat("is ", v->number, ", not a whole number"));
    } else if (std::isfinite(v->number) && std::fabs(v->number) <= kTwoTo53) {
      value = static_cast<int64_t>(v->number);
    } else {
      return Error(key,
                   absl::StrCat("is ", v->number, ", out of range ", min, "..", max));
    }
    if (value < min || value > max) {
      return Error(key, absl::StrCat("is ", value, ", out of range ", min, "..", max));
    }
    *out = value;
    return absl::OkStatus();
  }

  template <typename T>
  absl::Status Integer(absl::string_view key, int64_t min, int64_t max, bool required,
                       T* out, bool wrapped = false) const {
    int64_t value = static_cast<int64_t>(*out);
    if (absl::Status s = Integer(key, min, max, required, &value, wrapped); !s.ok()) {
      return s;
    }
    *out = static_cast<T>(value);
    return absl::OkStatus();
  }

  absl::Status Double(absl::string_view key, double min, double max, bool required,
                      double* out) const {
    const JsonValue* v = Find(key);
    if (v == nullptr) return required ? Missing(key) : absl::OkStatus();
    if (v->type != JsonValue::Type::kNumber) {
      return Error(key, absl::StrCat("is ", v->TypeName(), ", not a number"));
    }
    if (!std::isfinite(v->number) || v->number < min || v->number > max) {
      return Error(key,
                   absl::StrCat("is ", v->number, ", out of range ", min, "..", max));
    }
    *out = v->number;
    return absl::OkStatus();
  }

  // iperf3 sets a flag when the member is present ("nodelay": true,
  // "udp_counters_64bit": 1); false, 0 and null read as not set here.
  absl::Status Flag(absl::string_view key, bool* out) const {
    const JsonValue* v = Find(key);
    if (v == nullptr) return absl::OkStatus();
    switch (v->type) {
      case JsonValue::Type::kBool:
        *out = v->boolean;
        return absl::OkStatus();
      case JsonValue::Type::kNumber:
        *out = v->number != 0;
        return absl::OkStatus();
      case JsonValue::Type::kNull:
        *out = false;
        return absl::OkStatus();
      default:
        return Error(key, absl::StrCat("is ", v->TypeName(), ", not true or false"));
    }
  }

  absl::Status String(absl::string_view key, std::string* out) const {
    const JsonValue* v = Find(key);
    if (v == nullptr) return absl::OkStatus();
    if (v->type != JsonValue::Type::kString) {
      return Error(key, absl::StrCat("is ", v->TypeName(), ", not a string"));
    }
    *out = v->string;
    return absl::OkStatus();
  }

 private:
  const JsonValue& object_;
  absl::string_view what_;
};

absl::StatusOr<JsonValue> ParseObject(absl::string_view json, absl::string_view what) {
  absl::StatusOr<JsonValue> root = ParseJson(json);
  if (!root.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", root.status().message()));
  }
  if (root->type != JsonValue::Type::kObject) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": the JSON is ", root->TypeName(), ", not an object"));
  }
  return root;
}

#define NETPROBE_IPERF3_RETURN_IF_ERROR(expr) \
  do {                                        \
    absl::Status _status = (expr);            \
    if (!_status.ok()) return _status;        \
  } while (0)

}  // namespace

std::string StateName(int8_t state) {
  switch (state) {
    case 1:
      return "TEST_START";
    case 2:
      return "TEST_RUNNING";
    case 4:
      return "TEST_END";
    case 9:
      return "PARAM_EXCHANGE";
    case 10:
      return "CREATE_STREAMS";
    case 11:
      return "SERVER_TERMINATE";
    case 12:
      return "CLIENT_TERMINATE";
    case 13:
      return "EXCHANGE_RESULTS";
    case 14:
      return "DISPLAY_RESULTS";
    case 15:
      return "IPERF_START";
    case 16:
      return "IPERF_DONE";
    case -1:
      return "ACCESS_DENIED";
    case -2:
      return "SERVER_ERROR";
    default:
      return absl::StrCat("state ", state);
  }
}

std::string NewCookie() {
  // make_cookie (iperf_util.c): random bytes mapped onto 32 characters, so
  // `byte % 32` is unbiased.
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  static_assert(sizeof(kAlphabet) - 1 == 32);
  std::string cookie(kCookieSize, '\0');
  size_t have = 0;
  while (have < kCookieSize - 1) {
    ssize_t n = getrandom(cookie.data() + have, kCookieSize - 1 - have, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // getrandom cannot fail on Linux >= 3.17 once the pool is ready; the
      // cookie only pairs connections of one test, so fall back to the clock.
      uint64_t seed =
          static_cast<uint64_t>(time(nullptr)) ^ reinterpret_cast<uintptr_t>(&cookie);
      for (; have < kCookieSize - 1; ++have) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        cookie[have] = static_cast<char>(seed >> 56);
      }
      break;
    }
    have += static_cast<size_t>(n);
  }
  for (size_t i = 0; i < kCookieSize - 1; ++i) {
    cookie[i] = kAlphabet[static_cast<unsigned char>(cookie[i]) % 32];
  }
  cookie[kCookieSize - 1] = '\0';
  return cookie;
}

std::string EncodeParams(const TestParams& params) {
  // Members and order as send_parameters (iperf_api.c) writes them.
  JsonObjectWriter json;
  json.Bool(params.udp ? "udp" : "tcp", true);
  json.Double("omit", params.omit_seconds);
  json.Double("time", params.time_seconds);
  json.Uint("num", params.bytes);
  json.Uint("blockcount", params.blocks);
  if (params.mss != 0) json.Int("MSS", params.mss);
  if (params.nodelay) json.Bool("nodelay", true);
  json.Int("parallel", params.parallel);
  if (params.reverse) json.Bool("reverse", true);
  if (params.bidirectional) json.Bool("bidirectional", true);
  if (params.window != 0) json.Int("window", params.window);
  if (params.length != 0) json.Int("len", params.length);
  if (params.bandwidth != 0) json.Uint("bandwidth", params.bandwidth);
  if (params.tos != 0) json.Int("TOS", params.tos);
  if (!params.congestion.empty()) json.String("congestion", params.congestion);
  if (params.get_server_output) json.Int("get_server_output", 1);
  if (params.udp_counters_64bit) json.Int("udp_counters_64bit", 1);
  if (!params.client_version.empty())
    json.String("client_version", params.client_version);
  return std::move(json).Finish();
}

absl::StatusOr<TestParams> DecodeParams(absl::string_view json) {
  constexpr absl::string_view kWhat = "iperf3 parameters";
  absl::StatusOr<JsonValue> root = ParseObject(json, kWhat);
  if (!root.ok()) return root.status();
  MemberReader r(*root, kWhat);
  TestParams p;
  if (r.Find("sctp") != nullptr) return r.Error("sctp", "is set: SCTP is not supported");
  bool tcp = false;
  NETPROBE_IPERF3_RETURN_IF_ERROR(r.Flag("tcp", &tcp));
  NETPROBE_IPERF3_RETURN_IF_ERROR(
      r.Flag("udp", &p.udp));  // wins over "tcp", as in iperf3
  NETPROBE_IPERF3_RETURN_IF_ERROR(
      r.Double("omit", 0, kMaxTimeSeconds, false, &p.omit_seconds));
  NETPROBE_IPERF3_RETURN_IF_ERROR(
      r.Double("time", 0, kMaxTimeSeconds, false, &p.time_seconds));
  NETPROBE_IPERF3_RETURN_IF_ERROR(r.Integer("num", 0, kInt64Max, false, &p.bytes));
  NETPROBE_IPERF3_RETURN_IF_ERROR(
      r.Integer("blockcount", 0, kInt64Max, false, &p.blocks));
  NETPROBE_IPERF3_RETURN_IF_ERROR(r.Integer("MSS", 0, kMaxMss, false, &p.mss));
  NETPROBE_IPERF3_RETURN_IF_ERROR(r.Flag("nodelay", &p.nodelay));
  NETPROBE_IPERF3_RETURN_IF_ERROR(
      r.Integer("parallel", 1, kMaxStreams, false, &p.parallel));
  NETPROBE_IPERF3_RETURN_IF_ERROR(r.Flag("reverse", &p.reverse));
  NETPROBE_IPERF3_RETURN_IF_ERROR(r.Flag("bidirectional", &p.bidirectional));
  NETPROBE_IPERF3_RETURN_IF_ERROR(
      r.Integer("window", 0, kMaxTcpBuffer, false, &p.window));
  NETPROBE_IPERF3_RETURN_IF_ERROR(r.Integer("len", 0, kMaxBlockSize, false, &p.length));
  if (p.udp && p.length != 0 &&
      (p.length < kMinUdpBlockSize || p.length > kMaxUdpBlockSize)) {
    return r.Error(
        "len", absl::StrCat("is ", p.length, ", out of range ", kMinUdpBlockSize, "..",
                            kMaxUdpBlockSize, " for UDP"));
  }
  NETPROBE_IPERF3_RETURN_IF_ERROR(
      r.Integer("bandwidth", 0, kInt64Max, false, &p.bandwidth));
  NETPROBE_IPERF3_RETURN_IF_ERROR(r.Integer("TOS", 0, 255, false, &p.tos));
  NETPROBE_IPERF3_RETURN_IF_ERROR(r.String("congestion", &p.congestion));
  NETPROBE_IPERF3_RETURN_IF_ERROR(r.Flag("get_server_output", &p.get_server_output));
  NETPROBE_IPERF3_RETURN_IF_ERROR(r.Flag("udp_counters_64bit", &p.udp_counters_64bit));
  NETPROBE_IPERF3_RETURN_IF_ERROR(r.String("client_version", &p.client_version));
  return p;
}

std::string EncodeResults(const TestResults& results) {
  // Members and order as send_results (iperf_api.c) writes them.
  JsonObjectWriter json;
  json.Double("cpu_util_total", results.cpu_total);
  json.Double("cpu_util_user", results.cpu_user);
  json.Double("cpu_util_system", results.cpu_system);
  json.Int("sender_has_retransmits", results.sender_has_retransmits);
  if (!results.congestion_used.empty()) {
    json.String("congestion_used", results.congestion_used);
  }
  std::string streams = "[";
  for (const StreamResult& s : results.streams) {
    if (streams.size() > 1) streams.push_back(',');
    JsonObjectWriter stream;
    stream.Int("id", s.id);
    stream.Uint("bytes", s.bytes);
    stream.Int("retransmits", s.retransmits);
    stream.Double("jitter", s.jitter_seconds);
    stream.Int("errors", s.errors);
    stream.Int("packets", s.packets);
    stream.Double("start_time", s.start_time);
    stream.Double("end_time", s.end_time);
    streams.append(std::move(stream).Finish());
  }
  streams.push_back(']');
  json.Raw("streams", streams);
  return std::move(json).Finish();
}

absl::StatusOr<TestResults> DecodeResults(absl::string_view json) {
  constexpr absl::string_view kWhat = "iperf3 results";
  absl::StatusOr<JsonValue> root = ParseObject(json, kWhat);
  if (!root.ok()) return root.status();
  MemberReader r(*root, kWhat);
  TestResults results;
  constexpr double kHuge = 1e300;
  // What get_results (iperf_api.c) requires; the rest is optional there too.
  NETPROBE_IPERF3_RETURN_IF_ERROR(
      r.Double("cpu_util_total", -kHuge, kHuge, true, &results.cpu_total));
  NETPROBE_IPERF3_RETURN_IF_ERROR(
      r.Double("cpu_util_user", -kHuge, kHuge, true, &results.cpu_user));
  NETPROBE_IPERF3_RETURN_IF_ERROR(
      r.Double("cpu_util_system", -kHuge, kHuge, true, &results.cpu_system));
  NETPROBE_IPERF3_RETURN_IF_ERROR(r.Integer("sender_has_retransmits", -1, 1, true,
                                            &results.sender_has_retransmits,
                                            /*wrapped=*/true));
  NETPROBE_IPERF3_RETURN_IF_ERROR(r.String("congestion_used", &results.congestion_used));
  const JsonValue* streams = r.Find("streams");
  if (streams == nullptr) return r.Missing("streams");
  if (streams->type != JsonValue::Type::kArray) {
    return r.Error("streams", absl::StrCat("is ", streams->TypeName(), ", not an array"));
  }
  for (size_t i = 0; i < streams->array.size(); ++i) {
    const JsonValue& item = streams->array[i];
    std::string what = absl::StrCat(kWhat, ": streams[", i, "]");
    if (item.type != JsonValue::Type::kObject) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " is ", item.TypeName(), ", not an object"));
    }
    MemberReader s(item, what);
    StreamResult stream;
    constexpr int64_t kIntMax = std::numeric_limits<int>::max();
    NETPROBE_IPERF3_RETURN_IF_ERROR(s.Integer("id", 0, kIntMax, true, &stream.id));
    NETPROBE_IPERF3_RETURN_IF_ERROR(
        s.Integer("bytes", 0, kInt64Max, true, &stream.bytes));
    NETPROBE_IPERF3_RETURN_IF_ERROR(s.Integer("retransmits", -1, kInt64Max, true,
                                              &stream.retransmits, /*wrapped=*/true));
    NETPROBE_IPERF3_RETURN_IF_ERROR(
        s.Double("jitter", 0, kHuge, true, &stream.jitter_seconds));
    NETPROBE_IPERF3_RETURN_IF_ERROR(
        s.Integer("errors", -kInt64Max, kInt64Max, true, &stream.errors, true));
    NETPROBE_IPERF3_RETURN_IF_ERROR(
        s.Integer("packets", 0, kInt64Max, true, &stream.packets));
    NETPROBE_IPERF3_RETURN_IF_ERROR(
        s.Double("start_time", -kHuge, kHuge, false, &stream.start_time));
    NETPROBE_IPERF3_RETURN_IF_ERROR(
        s.Double("end_time", -kHuge, kHuge, false, &stream.end_time));
    results.streams.push_back(stream);
  }
  return results;
}

std::string FrameJson(absl::string_view json) {
  uint32_t length = htonl(static_cast<uint32_t>(json.size()));
  std::string frame(reinterpret_cast<const char*>(&length), sizeof(length));
  frame.append(json.data(), json.size());
  return frame;
}

absl::StatusOr<size_t> JsonFrameReader::Feed(absl::string_view data) {
  size_t used = 0;
  while (!length_ && used < data.size()) {
    length_bytes_[length_have_++] = static_cast<uint8_t>(data[used++]);
    if (length_have_ == sizeof(length_bytes_)) {
      uint32_t length = (uint32_t{length_bytes_[0]} << 24) |
                        (uint32_t{length_bytes_[1]} << 16) |
                        (uint32_t{length_bytes_[2]} << 8) | uint32_t{length_bytes_[3]};
      if (length > kMaxJsonLength) {
        return absl::InvalidArgumentError(
            absl::StrCat("not an iperf3 JSON frame: length ", length, " (bytes \"",
                         absl::CHexEscape(absl::string_view(
                             reinterpret_cast<const char*>(length_bytes_), 4)),
                         "\") is over ", kMaxJsonLength));
      }
      length_ = length;
      text_.reserve(length);
    }
  }
  if (length_ && text_.size() < *length_) {
    size_t take = std::min<size_t>(*length_ - text_.size(), data.size() - used);
    text_.append(data.data() + used, take);
    used += take;
  }
  return used;
}

bool JsonFrameReader::complete() const { return length_ && text_.size() == *length_; }

void JsonFrameReader::Reset() {
  length_have_ = 0;
  length_.reset();
  text_.clear();
}

size_t UdpHeaderSize(bool counters_64bit) { return counters_64bit ? 16 : 12; }

bool EncodeUdpHeader(const UdpHeader& header, bool counters_64bit,
                     absl::Span<uint8_t> datagram) {
  if (datagram.size() < UdpHeaderSize(counters_64bit)) return false;
  uint32_t sec = htonl(header.seconds);
  uint32_t usec = htonl(header.microseconds);
  std::memcpy(datagram.data(), &sec, 4);
  std::memcpy(datagram.data() + 4, &usec, 4);
  if (counters_64bit) {
    uint64_t seq = htobe64(header.sequence);
    std::memcpy(datagram.data() + 8, &seq, 8);
  } else {
    // iperf3 truncates its counter to 32 bits too (iperf_udp_send).
    uint32_t seq = htonl(static_cast<uint32_t>(header.sequence));
    std::memcpy(datagram.data() + 8, &seq, 4);
  }
  return true;
}

std::optional<UdpHeader> DecodeUdpHeader(absl::Span<const uint8_t> datagram,
                                         bool counters_64bit) {
  if (datagram.size() < UdpHeaderSize(counters_64bit)) return std::nullopt;
  UdpHeader header;
  uint32_t sec, usec;
  std::memcpy(&sec, datagram.data(), 4);
  std::memcpy(&usec, datagram.data() + 4, 4);
  header.seconds = ntohl(sec);
  header.microseconds = ntohl(usec);
  if (counters_64bit) {
    uint64_t seq;
    std::memcpy(&seq, datagram.data() + 8, 8);
    header.sequence = be64toh(seq);
  } else {
    uint32_t seq;
    std::memcpy(&seq, datagram.data() + 8, 4);
    header.sequence = ntohl(seq);
  }
  return header;
}

}  // namespace netprobe::iperf3
#undef NETPROBE_IPERF3_RETURN_IF_ERROR
