#include "client/commands/capture_command.h"

#include <errno.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/exit_codes.h"
#include "client/fanout/fanout.h"
#include "client/interrupt.h"
#include "client/output/capture_pcapng.h"
#include "client/output/capture_totals.h"
#include "client/output/json_lines.h"
#include "client/output/packet_text.h"
#include "client/output/pcap_writer.h"
#include "client/output/tcp_text.h"
#include "client/stream_end_exit.h"
#include "client/version.h"
#include "common/packet_records.h"
#include "common/proto_time.h"
#include "netprobe/v1/agent.grpc.pb.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe::client {
namespace {

absl::Span<const uint8_t> Bytes(const std::string& data) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(data.data()), data.size());
}

// The pcapng that captures write into: one agent's own (-w FILE --pcapng),
// or one that many agents' captures share, merged (RunCaptureOnAgents).
// Thread-safe: each agent's thread adds its batches, a ticker releases held
// packets. A write error sticks and cancels every registered call, so no
// agent captures on for a file that can take nothing more.
class PcapngOutput {
 public:
  PcapngOutput(FILE* file, CapturePcapng::Options options)
      : pcapng_(file, std::move(options)) {}

  size_t AddSource(std::string name, std::string address) {
    std::lock_guard<std::mutex> lock(mu_);
    return pcapng_.AddSource(std::move(name), std::move(address));
  }

  // `call` is cancelled when the file fails (at once if it has).
  void Register(grpc::ClientContext* call) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_.ok()) call->TryCancel();
    calls_.insert(call);
  }
  void Unregister(grpc::ClientContext* call) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.erase(call);
  }

  // One batch of `source`'s events: written (one source) or merged, then
  // flushed, so `-w - | wireshark -k -i -` stays live.
  absl::Status Add(size_t source, const v1::CaptureEvents& batch) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_.ok()) return error_;
    const absl::Time now = absl::Now();
    absl::Status status;
    for (const v1::CaptureEvent& event : batch.events()) {
      status = pcapng_.Add(source, event, now);
      if (!status.ok()) break;
    }
    if (status.ok() && pcapng_.merging()) status = pcapng_.Release(now);
    if (status.ok()) status = pcapng_.Flush();
    Fail(status);
    return status;
  }

  // `source`'s call is over: the merge no longer waits for it.
  void End(size_t source) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_.ok()) return;
    absl::Status status = pcapng_.EndSource(source, absl::Now());
    if (status.ok()) status = pcapng_.Flush();
    Fail(status);
  }

  // Merging: writes the held packets whose turn has come.
  void Tick() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_.ok() || pcapng_.held_packets() == 0) return;
    absl::Status status = pcapng_.Release(absl::Now());
    if (status.ok()) status = pcapng_.Flush();
    Fail(status);
  }

  // The held packets and every interface's statistics; the first error.
  absl::Status Finish() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_.ok()) return error_;
    absl::Status status = pcapng_.Finish(absl::Now());
    if (status.ok()) status = pcapng_.Flush();
    Fail(status);
    return status;
  }

  absl::Status error() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }
  bool any_began() {
    std::lock_guard<std::mutex> lock(mu_);
    return pcapng_.any_began();
  }
  // Written and left out (late) per source; written early (memory bound).
  uint64_t written(size_t source) {
    std::lock_guard<std::mutex> lock(mu_);
    return pcapng_.written(source);
  }
  uint64_t late(size_t source) {
    std::lock_guard<std::mutex> lock(mu_);
    return pcapng_.late(source);
  }
  uint64_t written_early() {
    std::lock_guard<std::mutex> lock(mu_);
    return pcapng_.written_early();
  }

 private:
  // Keeps the first error and cancels every call.
  void Fail(const absl::Status& status) {
    if (status.ok() || !error_.ok()) return;
    error_ = status;
    for (grpc::ClientContext* call : calls_) call->TryCancel();
  }

  std::mutex mu_;
  CapturePcapng pcapng_;                  // guarded by mu_
  absl::Status error_;                    // guarded by mu_
  std::set<grpc::ClientContext*> calls_;  // guarded by mu_
};

CapturePcapng::Options PcapngOptions() {
  CapturePcapng::Options options;
  options.application = absl::StrCat("netprobe ", kClientVersion);
  return options;
}

// Where packets go: a capture file (-w), or text lines on stdout.
struct PacketOutput {
  FILE* file = nullptr;  // the -w file; null for text
  bool close_file = false;
  std::string file_name;
  bool remove_if_unused = false;              // a regular file this run created
  std::unique_ptr<CaptureFileWriter> writer;  // pcap
  std::unique_ptr<PcapngOutput> pcapng;       // pcapng of this agent alone
  uint32_t link_type = 0;

  ~PacketOutput() {
    if (close_file && file != nullptr) std::fclose(file);
  }
};

// Opens -w FILE (or stdout for "-"), fully buffered: packets are written a
// batch at a time and flushed per batch: the buffer saves system calls when
// packets come one by one (an agent that sends Packet messages), the flush
// keeps `-w - | wireshark -k -i -` live. A batch of packed records (up to
// 512 KiB) is one fwrite, which stdio passes to write(2) without copying
// what exceeds this buffer.
absl::StatusOr<FILE*> OpenCaptureFile(const std::string& name, bool* remove_if_unused) {
  *remove_if_unused = false;
  FILE* file = stdout;
  if (name != "-") {
    struct stat before;
    const bool existed = stat(name.c_str(), &before) == 0;
    file = std::fopen(name.c_str(), "wbe");
    if (file == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("-w ", name, ": ", std::strerror(errno)));
    }
    // Only a regular file this run created may be removed again: never
    // /dev/null, a fifo, or a file that was there before.
    struct stat opened;
    *remove_if_unused =
        !existed && fstat(fileno(file), &opened) == 0 && S_ISREG(opened.st_mode);
  }
  std::setvbuf(file, nullptr, _IOFBF, 64 << 10);
  return file;
}

absl::Status OpenFile(const CommandContext& ctx, PacketOutput* out) {
  const ParsedOptions& options = ctx.options;
  if (!options.Has("write")) return absl::OkStatus();
  // One file per agent when many run at once: "cap-{agent}.pcap".
  out->file_name = ExpandAgentPlaceholder(options.Get("write"), ctx.agent_name);
  absl::StatusOr<FILE*> file = OpenCaptureFile(out->file_name, &out->remove_if_unused);
  if (!file.ok()) return file.status();
  out->file = *file;
  out->close_file = out->file_name != "-";
  if (CaptureWritesPcapng(options)) {
    out->pcapng = std::make_unique<PcapngOutput>(out->file, PcapngOptions());
    out->pcapng->AddSource(ctx.agent_name, ctx.agent);
  } else {
    out->writer = CaptureFileWriter::Create(CaptureFileWriter::Format::kPcap, out->file);
  }
  return absl::OkStatus();
}

// The agent's interface names by index, for Linux cooked v2 headers (which
// carry only the index, meaningful on the agent's host alone). Empty when
// the agent cannot say: lines then show "ifindex N".
InterfaceNames AgentInterfaceNames(const CommandContext& ctx) {
  InterfaceNames names;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::AgentInfo info;
  if (v1::Agent::NewStub(ctx.channel)
          ->GetInfo(&context, v1::GetInfoRequest(), &info)
          .ok()) {
    for (const v1::NetworkInterface& i : info.interfaces()) names[i.index()] = i.name();
  }
  return names;
}

// tcpdump's "EN10MB (Ethernet)": libpcap's name of the link type and its
// description (pcap_datalink_val_to_description) for the types Linux has.
std::string LinkTypeWithDescription(const std::string& name) {
  static const std::map<std::string, std::string>* descriptions =
      new std::map<std::string, std::string>{
          {"EN10MB", "Ethernet"},
          {"LINUX_SLL", "Linux cooked v1"},
          {"LINUX_SLL2", "Linux cooked v2"},
          {"RAW", "Raw IP"},
          {"NULL", "BSD loopback"},
          {"LOOP", "OpenBSD loopback"},
          {"IPV4", "Raw IPv4"},
          {"IPV6", "Raw IPv6"},
      };
  auto it = descriptions->find(name);
  return it == descriptions->end() ? name : absl::StrCat(name, " (", it->second, ")");
}

}  // namespace

std::vector<OptionSpec> CaptureOptions() {
  return {
      {'i', "interface", "IFACE", "interface to capture on (default \"any\")"},
      {'s', "snapshot-length", "SNAPLEN",
       "bytes kept per packet, 0..262144 (default and 0: all, as tcpdump)"},
      {'S', "absolute-tcp-sequence-numbers", "",
       "print absolute TCP sequence numbers (default: relative, as tcpdump)"},
      {'c', "count", "N", "stop after N packets"},
      {0, "duration", "DURATION", "stop after this long (the agent's limit is 24h)"},
      {0, "max-bytes", "BYTES", "stop before the captured bytes exceed BYTES"},
      {'p', "no-promiscuous-mode", "",
       "do not put the interface in promiscuous mode (the default here)"},
      {0, "promiscuous", "", "put the interface in promiscuous mode"},
      {'w', "write", "FILE",
       "write packets to FILE (pcap, or pcapng when FILE ends in .pcapng; '-' for "
       "stdout; {agent} in FILE becomes the agent's name; with many agents and no "
       "{agent}, one pcapng with an interface per agent, packets merged by time)"},
      {0, "pcapng", "",
       "with -w: write pcapng (section, interface names, filter and drop statistics) "
       "instead of pcap"},
      {0, "own-traffic", "",
       "include the agent's own gRPC traffic (excluded by default)"},
  };
}

absl::StatusOr<v1::CaptureRequest> BuildCaptureRequest(const ParsedOptions& options) {
  v1::CaptureRequest request;
  request.set_interface(options.Get("interface"));
  // Filter words come last, as with tcpdump; the agent compiles them.
  request.set_filter(absl::StrJoin(options.positional(), " "));
  // The agent's bounds (capture.proto), quoted by the CLI as the agent would.
  // -s 0 is tcpdump's "the default, 262144"; -c 0 the default: no count.
  constexpr uint64_t kMaxSnaplen = 262144, kMaxPackets = 100000000,
                     kMaxBytes = uint64_t{16} << 30;
  auto snaplen = options.GetUint("snapshot-length", 0, kMaxSnaplen);
  if (!snaplen.ok()) return snaplen.status();
  if (*snaplen && **snaplen != 0) request.set_snaplen(static_cast<uint32_t>(**snaplen));
  auto count = options.GetUint("count", 0, kMaxPackets);
  if (!count.ok()) return count.status();
  if (*count) request.set_max_packets(**count);
  auto max_bytes = options.GetUint("max-bytes", 1, kMaxBytes);
  if (!max_bytes.ok()) return max_bytes.status();
  if (*max_bytes) request.set_max_bytes(**max_bytes);
  auto duration = options.GetDuration("duration");
  if (!duration.ok()) return duration.status();
  if (*duration) ToProto(**duration, request.mutable_duration());
  if (options.Has("promiscuous") && options.Has("no-promiscuous-mode")) {
    return absl::InvalidArgumentError("--promiscuous and -p contradict each other");
  }
  request.set_promiscuous(options.Has("promiscuous"));
  request.set_include_own_traffic(options.Has("own-traffic"));
  if (options.Has("pcapng") && !options.Has("write")) {
    return absl::InvalidArgumentError("--pcapng: only with -w FILE");
  }
  return request;
}

namespace {

// One agent's capture. `shared`: the pcapng many agents write into (this
// agent is its `source`); null: this agent's own output (-w FILE, or text).
int CaptureOnAgent(const CommandContext& ctx, PcapngOutput* shared, size_t source) {
  auto request = BuildCaptureRequest(ctx.options);
  if (!request.ok()) {
    std::fprintf(ctx.err, "netprobe capture: %s\n",
                 std::string(request.status().message()).c_str());
    return kExitBadArguments;
  }
  if (ctx.json && ctx.options.Get("write") == "-") {
    std::fprintf(ctx.err,
                 "netprobe capture: --json and -w - would both write to stdout\n");
    return kExitBadArguments;
  }
  PacketOutput output;
  PcapngOutput* pcapng = shared;
  if (shared == nullptr) {
    if (absl::Status opened = OpenFile(ctx, &output); !opened.ok()) {
      std::fprintf(ctx.err, "netprobe capture: %s\n",
                   std::string(opened.message()).c_str());
      return kExitBadArguments;
    }
    pcapng = output.pcapng.get();
    source = 0;
  }
  const bool to_file = output.writer != nullptr || pcapng != nullptr;
  const absl::TimeZone zone = absl::LocalTimeZone();
  grpc::ClientContext context;
  ctx.ApplyDeadline(&context, absl::InfiniteDuration());
  CancelOnInterrupt interrupt(&context);
  if (pcapng != nullptr) pcapng->Register(&context);
  // Packed records unless packets are printed as JSON (which shows Packet
  // messages, as every gRPC caller that does not ask for records sees them).
  request->set_packed_records(to_file || !ctx.json);
  auto stub = v1::Probes::NewStub(ctx.channel);
  auto reader = stub->Capture(&context, *request);

  v1::CaptureEvents batch;
  StreamEndExit end_exit;
  TcpSequenceNumbers sequences;  // tcpdump's relative numbers, unless -S
  const bool absolute = ctx.options.Has("absolute-tcp-sequence-numbers");
  v1::CaptureStats stats;  // the agent's latest totals
  uint64_t captured = 0;   // packets this client received
  bool failed = false;
  bool began = false;  // the header arrived: the agent is capturing
  InterfaceNames interface_names;
  absl::Status write_error;
  absl::Status bad_records;  // the agent's packed records do not parse
  std::string text;
  while (write_error.ok() && bad_records.ok() && reader->Read(&batch)) {
    for (v1::CaptureEvent& event : *batch.mutable_events()) {
      text.clear();
      switch (event.event_case()) {
        case v1::CaptureEvent::kHeader: {
          const v1::CaptureHeader& h = event.header();
          output.link_type = h.link_type();
          began = true;
          if (h.link_type() == kDltLinuxSll2 && !to_file && !ctx.json) {
            interface_names = AgentInterfaceNames(ctx);
          }
          std::fprintf(ctx.err,
                       "listening on %s, link-type %s, snapshot length %u bytes\n",
                       h.interface().c_str(),
                       LinkTypeWithDescription(h.link_type_name()).c_str(), h.snaplen());
          if (output.writer) {
            write_error = output.writer->Begin(h.link_type(), h.snaplen(), h.interface());
          }
          break;
        }
        case v1::CaptureEvent::kPackets:
          captured += event.packets().packets_size();
          if (!event.packets().records().empty()) {
            std::string* records = event.mutable_packets()->mutable_records();
            if (pcapng != nullptr) {
              // Checked here, so the file takes only whole batches.
              absl::StatusOr<size_t> count = CountPacketRecords(*records);
              if (count.ok()) {
                captured += *count;
              } else {
                bad_records = count.status();
              }
              break;
            }
            if (output.writer) {
              if (!write_error.ok()) break;
              absl::StatusOr<size_t> written = output.writer->WriteRecords(records);
              if (written.ok()) {
                captured += *written;
              } else {
                write_error = written.status();
              }
              break;
            }
            PacketRecordReader reader(*records);
            PacketRecord r;
            while (reader.Next(&r)) {
              if (ctx.json) continue;
              text += FormatPacketLine(
                  output.link_type, r.time(), r.original_length,
                  absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(r.data.data()),
                                      r.data.size()),
                  zone, &interface_names, absolute ? nullptr : &sequences);
            }
            captured += reader.count();
            bad_records = reader.status();
          }
          if (pcapng != nullptr) break;
          for (const v1::Packet& packet : event.packets().packets()) {
            if (output.writer) {
              if (!write_error.ok()) break;
              write_error =
                  output.writer->Write(FromProto(packet.time()), packet.original_length(),
                                       Bytes(packet.data()));
            } else if (!ctx.json) {
              text +=
                  FormatPacketLine(output.link_type, FromProto(packet.time()),
                                   packet.original_length(), Bytes(packet.data()), zone,
                                   &interface_names, absolute ? nullptr : &sequences);
            }
          }
          break;
        case v1::CaptureEvent::kStats:
          stats = event.stats();
          break;
        case v1::CaptureEvent::kDropped:
          text = FormatDropped(event.dropped());
          break;
        case v1::CaptureEvent::kEnd:
          end_exit.Note(event.end());
          failed |= event.end().reason() == v1::StreamEnd::REASON_FAILED;
          if (event.end().reason() != v1::StreamEnd::REASON_LIMIT) {
            std::fputs(FormatStreamEnd(event.end()).c_str(), ctx.err);
          }
          break;
        default:
          break;
      }
      if (ctx.json && !(to_file && event.has_packets())) {
        WriteJsonLine(ctx.out, event);
      } else if (!text.empty() && !to_file) {
        std::fwrite(text.data(), 1, text.size(), ctx.out);
      }
    }
    if (pcapng != nullptr && bad_records.ok()) {
      write_error = pcapng->Add(source, batch);
    } else if (output.writer && std::fflush(output.file) != 0 && write_error.ok()) {
      write_error = absl::UnavailableError(std::strerror(errno));
    }
    std::fflush(ctx.out);  // Pipelines see each batch as it arrives.
  }
  if (!write_error.ok() || !bad_records.ok()) {
    // Stop the capture on the agent at once: nothing more can be kept.
    context.TryCancel();
    while (reader->Read(&batch)) {
    }
  }
  const grpc::Status status = reader->Finish();
  if (pcapng != nullptr) {
    pcapng->Unregister(&context);
    pcapng->End(source);
    if (shared != nullptr && write_error.ok()) {
      // Another agent's write may have failed the file (and cancelled this
      // call): the owner reports it, once.
      write_error = shared->error();
    }
    if (shared == nullptr && write_error.ok()) write_error = pcapng->Finish();
  }
  if (output.close_file && output.file != nullptr) {
    const int closed = std::fclose(output.file);
    output.file = nullptr;
    if (closed != 0 && write_error.ok()) {
      write_error = absl::UnavailableError(std::strerror(errno));
    }
  }
  if (output.remove_if_unused && !began) {
    // The agent refused the capture: leave no empty file behind.
    std::remove(output.file_name.c_str());
  }
  if (!write_error.ok()) {
    if (shared != nullptr) return kExitProbeFailed;  // the owner says why
    std::fprintf(ctx.err, "netprobe capture: writing %s failed: %s\n",
                 output.file_name == "-" ? "stdout" : output.file_name.c_str(),
                 std::string(write_error.message()).c_str());
    return kExitProbeFailed;
  }
  if (!bad_records.ok()) {
    std::fprintf(ctx.err, "netprobe capture: the agent sent malformed packets: %s\n",
                 std::string(bad_records.message()).c_str());
    return kExitProbeFailed;
  }
  if (interrupt.interrupted() || status.ok()) {
    // Like tcpdump, the totals go to stderr, so they never mix with packets.
    std::fputs(FormatCaptureTotals(captured, stats).c_str(), ctx.err);
  }
  if (interrupt.interrupted()) return kExitInterrupted;
  if (!status.ok()) return ReportRpcError(ctx, "capture", status);
  return end_exit.Exit(failed ? kExitProbeFailed : kExitOk);
}

}  // namespace

int RunCapture(const CommandContext& ctx) { return CaptureOnAgent(ctx, nullptr, 0); }

bool CaptureWritesPcapng(const ParsedOptions& options) {
  if (options.Has("pcapng")) return true;
  const std::string path = options.Get("write");
  return path != "-" && absl::EndsWithIgnoreCase(path, ".pcapng");
}

int RunCaptureOnAgents(const CommandContext& base,
                       const std::vector<FanoutAgent>& agents) {
  const ParsedOptions& options = base.options;
  const std::string path = options.Has("write") ? options.Get("write") : "";
  if (path.empty() || absl::StrContains(path, "{agent}") ||
      !CaptureWritesPcapng(options)) {
    // Text lines, or a file per agent (CheckFanoutOptions refused one pcap).
    return RunOnAgents(base, agents, RunCapture, "capture", nullptr);
  }
  // One pcapng for every agent. The request is checked once, before the file
  // is created.
  if (auto request = BuildCaptureRequest(options); !request.ok()) {
    std::fprintf(base.err, "netprobe capture: %s\n",
                 std::string(request.status().message()).c_str());
    return kExitBadArguments;
  }
  if (base.json && path == "-") {
    std::fprintf(base.err,
                 "netprobe capture: --json and -w - would both write to stdout\n");
    return kExitBadArguments;
  }
  bool remove_if_unused = false;
  absl::StatusOr<FILE*> file = OpenCaptureFile(path, &remove_if_unused);
  if (!file.ok()) {
    std::fprintf(base.err, "netprobe capture: %s\n",
                 std::string(file.status().message()).c_str());
    return kExitBadArguments;
  }
  const CapturePcapng::Options pcapng_options = PcapngOptions();
  PcapngOutput merged(*file, pcapng_options);
  std::map<std::string, size_t> sources;  // by agent name (names are distinct)
  for (const FanoutAgent& agent : agents) {
    sources[agent.spec.name] = merged.AddSource(agent.spec.name, agent.spec.address);
  }
  // Packets an agent alone has shown wait for the others at most the hold
  // bound: the ticker writes them when it passes.
  std::mutex ticker_mu;
  std::condition_variable ticker_cv;
  bool done = false;
  std::thread ticker([&] {
    std::unique_lock<std::mutex> lock(ticker_mu);
    while (
        !ticker_cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return done; })) {
      lock.unlock();
      merged.Tick();
      lock.lock();
    }
  });
  const int code = RunOnAgents(
      base, agents,
      [&](const CommandContext& ctx) {
        return CaptureOnAgent(ctx, &merged, sources.at(ctx.agent_name));
      },
      "capture", nullptr);
  {
    std::lock_guard<std::mutex> lock(ticker_mu);
    done = true;
  }
  ticker_cv.notify_one();
  ticker.join();
  absl::Status written = merged.Finish();
  if (path != "-") {
    if (std::fclose(*file) != 0 && written.ok()) {
      written = absl::UnavailableError(std::strerror(errno));
    }
    // Every agent refused: leave no empty file behind.
    if (!merged.any_began() && remove_if_unused) std::remove(path.c_str());
  }
  if (!written.ok()) {
    std::fprintf(base.err, "netprobe capture: writing %s failed: %s\n",
                 path == "-" ? "stdout" : path.c_str(),
                 std::string(written.message()).c_str());
    return code == kExitInterrupted ? code : kExitProbeFailed;
  }
  if (merged.any_began()) {
    std::vector<std::string> counts;
    uint64_t total = 0, late = 0;
    for (const FanoutAgent& agent : agents) {
      const size_t source = sources.at(agent.spec.name);
      total += merged.written(source);
      late += merged.late(source);
      counts.push_back(absl::StrCat(agent.spec.name, " ", merged.written(source)));
    }
    std::string line = absl::StrCat(
        "netprobe capture: ", total, total == 1 ? " packet" : " packets", " written to ",
        path == "-" ? "stdout" : path, " (", absl::StrJoin(counts, ", "), ")\n");
    if (late > 0) {
      absl::StrAppend(
          &line, "netprobe capture: ", late, late == 1 ? " packet" : " packets",
          " left out: each came after a later packet had been written (packets wait "
          "at most ",
          absl::FormatDuration(pcapng_options.hold),
          " for the other agents); counted in their interfaces' drops\n");
    }
    if (const uint64_t early = merged.written_early(); early > 0) {
      absl::StrAppend(&line, "netprobe capture: ", early,
                      early == 1 ? " packet" : " packets",
                      " written before the other agents caught up: the merge holds at "
                      "most ",
                      pcapng_options.max_held_bytes >> 20,
                      " MiB of packets (later packets older than them were left out)\n");
    }
    std::fputs(line.c_str(), base.err);
  }
  return code;
}

}  // namespace netprobe::client
