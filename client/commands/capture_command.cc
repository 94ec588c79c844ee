#include "client/commands/capture_command.h"

#include <errno.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/exit_codes.h"
#include "client/fanout/fanout.h"
#include "client/interrupt.h"
#include "client/output/capture_totals.h"
#include "client/output/json_lines.h"
#include "client/output/packet_text.h"
#include "client/output/pcap_writer.h"
#include "client/output/tcp_text.h"
#include "client/stream_end_exit.h"
#include "common/packet_records.h"
#include "common/proto_time.h"
#include "netprobe/v1/agent.grpc.pb.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe::client {
namespace {

absl::Span<const uint8_t> Bytes(const std::string& data) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(data.data()), data.size());
}

// Where packets go: a capture file (-w), or text lines on stdout.
struct PacketOutput {
  FILE* file = nullptr;  // the -w file; null for text
  bool close_file = false;
  std::string file_name;
  std::unique_ptr<CaptureFileWriter> writer;
  uint32_t link_type = 0;

  ~PacketOutput() {
    if (close_file && file != nullptr) std::fclose(file);
  }
};

absl::Status OpenFile(const CommandContext& ctx, PacketOutput* out) {
  const ParsedOptions& options = ctx.options;
  if (!options.Has("write")) return absl::OkStatus();
  // One file per agent when many run at once: "cap-{agent}.pcap".
  out->file_name = ExpandAgentPlaceholder(options.Get("write"), ctx.agent_name);
  if (out->file_name == "-") {
    out->file = stdout;
  } else {
    out->file = std::fopen(out->file_name.c_str(), "wbe");
    if (out->file == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("-w ", out->file_name, ": ", std::strerror(errno)));
    }
    out->close_file = true;
  }
  // Packets are written a batch at a time and flushed per batch: the buffer
  // saves system calls when packets come one by one (an agent that sends
  // Packet messages), the flush keeps `-w - | wireshark -k -i -` live. A
  // batch of packed records (up to 512 KiB) is one fwrite, which stdio
  // passes to write(2) without copying what exceeds this buffer.
  std::setvbuf(out->file, nullptr, _IOFBF, 64 << 10);
  out->writer =
      CaptureFileWriter::Create(options.Has("pcapng") ? CaptureFileWriter::Format::kPcapng
                                                      : CaptureFileWriter::Format::kPcap,
                                out->file);
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
       "write packets to FILE (pcap; '-' for stdout; {agent} in FILE becomes the "
       "agent's name)"},
      {0, "pcapng", "", "with -w: write pcapng instead of pcap"},
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

int RunCapture(const CommandContext& ctx) {
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
  if (absl::Status opened = OpenFile(ctx, &output); !opened.ok()) {
    std::fprintf(ctx.err, "netprobe capture: %s\n",
                 std::string(opened.message()).c_str());
    return kExitBadArguments;
  }
  const absl::TimeZone zone = absl::LocalTimeZone();
  grpc::ClientContext context;
  ctx.ApplyDeadline(&context, absl::InfiniteDuration());
  CancelOnInterrupt interrupt(&context);
  // Packed records unless packets are printed as JSON (which shows Packet
  // messages, as every gRPC caller that does not ask for records sees them).
  request->set_packed_records(output.writer != nullptr || !ctx.json);
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
          if (h.link_type() == kDltLinuxSll2 && !output.writer && !ctx.json) {
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
      if (ctx.json && !(output.writer && event.has_packets())) {
        WriteJsonLine(ctx.out, event);
      } else if (!text.empty() && !output.writer) {
        std::fwrite(text.data(), 1, text.size(), ctx.out);
      }
    }
    if (output.file != nullptr && std::fflush(output.file) != 0 && write_error.ok()) {
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
  if (output.close_file && output.file != nullptr) {
    const int closed = std::fclose(output.file);
    output.file = nullptr;
    if (closed != 0 && write_error.ok()) {
      write_error = absl::UnavailableError(std::strerror(errno));
    }
  }
  if (output.close_file && !began) {
    // The agent refused the capture: leave no empty file behind.
    std::remove(output.file_name.c_str());
  }
  if (!write_error.ok()) {
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

}  // namespace netprobe::client
