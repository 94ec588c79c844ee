// Micro-benchmarks (Google Benchmark) of the hot pure functions on the probe
// and output paths, to tell which one is the bottleneck when a whole-system
// figure of tests/bench/run_all.sh falls short:
//   - ICMP: the checksum, parsing an echo reply as a raw socket and a
//     datagram socket deliver it, building a request;
//   - reply matching: the ping probe's in-flight table (16-bit wire sequence
//     -> pending request, std::unordered_map as in PingProbe::Family), 1,000
//     in flight, against a flat array indexed by the sequence;
//   - encoding: a PingEvents message to binary protobuf (what the agent
//     sends) and to a JSON line (what `netprobe --json` prints per event),
//     a PacketBatch of captured packets to binary (agent) and back (client),
//     and pcap records (the client's `capture -w`).
// Run by run_all.sh; alone: build-release/tests/bench/micro_bench
// [--benchmark_filter=REGEX] [--benchmark_min_time=SECONDS].
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/net/icmp.h"
#include "client/output/json_lines.h"
#include "client/output/pcap_writer.h"
#include "common/packet_records.h"
#include "netprobe/v1/capture.pb.h"
#include "netprobe/v1/ping.pb.h"

namespace netprobe {
namespace {

// An IPv4 echo reply as a raw ICMP socket receives it: a 20-byte IPv4 header
// and the ICMP message (our 56-byte payload: header + pattern).
std::vector<uint8_t> RawEchoReplyV4(uint16_t id, uint32_t sequence) {
  std::vector<uint8_t> icmp_message =
      icmp::BuildEchoRequest(false, id, sequence, 0x1234abcd, 56);
  icmp_message[0] = icmp::kEchoReplyV4;
  icmp_message[2] = icmp_message[3] = 0;
  const uint16_t sum = icmp::Checksum(icmp_message);
  icmp_message[2] = static_cast<uint8_t>(sum >> 8);  // Checksum() is big-endian
  icmp_message[3] = static_cast<uint8_t>(sum & 0xff);
  std::vector<uint8_t> packet(20);
  const size_t total = packet.size() + icmp_message.size();
  packet[0] = 0x45;
  packet[2] = static_cast<uint8_t>(total >> 8);
  packet[3] = static_cast<uint8_t>(total & 0xff);
  packet[8] = 64;  // TTL
  packet[9] = 1;   // ICMP
  const uint8_t src[] = {127, 0, 0, 1}, dst[] = {127, 0, 0, 1};
  std::copy(src, src + 4, packet.begin() + 12);
  std::copy(dst, dst + 4, packet.begin() + 16);
  const uint16_t ip_sum = icmp::Checksum(packet);
  packet[10] = static_cast<uint8_t>(ip_sum >> 8);
  packet[11] = static_cast<uint8_t>(ip_sum & 0xff);
  packet.insert(packet.end(), icmp_message.begin(), icmp_message.end());
  return packet;
}

void BM_Checksum(benchmark::State& state) {
  std::vector<uint8_t> data(state.range(0));
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  for (auto _ : state) benchmark::DoNotOptimize(icmp::Checksum(data));
  state.SetBytesProcessed(state.iterations() * data.size());
}
BENCHMARK(BM_Checksum)->Arg(64)->Arg(1500);

void BM_BuildEchoRequest(benchmark::State& state) {
  uint32_t sequence = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        icmp::BuildEchoRequest(false, 77, ++sequence, 0x1234abcd, 56));
  }
}
BENCHMARK(BM_BuildEchoRequest);

void BM_ParseIcmpV4EchoReply(benchmark::State& state) {
  const std::vector<uint8_t> packet = RawEchoReplyV4(77, 42);
  if (!icmp::ParseIcmpV4(packet).ok()) {
    state.SkipWithError("the test packet does not parse");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(icmp::ParseIcmpV4(packet));
}
BENCHMARK(BM_ParseIcmpV4EchoReply);

void BM_ParseDatagramEchoReply(benchmark::State& state) {
  std::vector<uint8_t> packet = RawEchoReplyV4(77, 42);
  packet.erase(packet.begin(), packet.begin() + 20);
  if (!icmp::ParseDatagramEchoReply(false, packet).ok()) {
    state.SkipWithError("the test packet does not parse");
    return;
  }
  for (auto _ : state)
    benchmark::DoNotOptimize(icmp::ParseDatagramEchoReply(false, packet));
}
BENCHMARK(BM_ParseDatagramEchoReply);

// The shape of PingProbe's Pending (agent/probes/ping_probe.h).
struct Pending {
  size_t target = 0;
  uint32_t sequence = 0;
  uint32_t wire_sequence = 0;
  absl::Time user_sent;
  absl::Time kernel_sent = absl::InfinitePast();
  uint64_t timer = 0;
};
constexpr uint32_t kInFlight = 1000;

Pending MakePending(uint32_t wire) {
  Pending p;
  p.target = wire % kInFlight;
  p.sequence = wire / kInFlight + 1;
  p.wire_sequence = wire;
  return p;
}

// One request sent (insert), its reply matched (find) and retired (erase),
// with kInFlight others in the table, as at 1,000 targets.
void BM_ReplyMatchUnorderedMap(benchmark::State& state) {
  std::unordered_map<uint16_t, Pending> pending;
  uint32_t next = 0;
  for (; next < kInFlight; ++next)
    pending[static_cast<uint16_t>(next)] = MakePending(next);
  for (auto _ : state) {
    pending[static_cast<uint16_t>(next)] = MakePending(next);
    auto it = pending.find(static_cast<uint16_t>(next - kInFlight));
    benchmark::DoNotOptimize(it->second.wire_sequence);
    pending.erase(it);
    ++next;
  }
}
BENCHMARK(BM_ReplyMatchUnorderedMap);

// The same with a flat table of 65,536 slots indexed by the 16-bit sequence.
void BM_ReplyMatchFlatArray(benchmark::State& state) {
  struct Slot {
    bool used = false;
    Pending pending;
  };
  std::vector<Slot> table(65536);
  uint32_t next = 0;
  for (; next < kInFlight; ++next)
    table[static_cast<uint16_t>(next)] = {true, MakePending(next)};
  for (auto _ : state) {
    table[static_cast<uint16_t>(next)] = {true, MakePending(next)};
    Slot& slot = table[static_cast<uint16_t>(next - kInFlight)];
    benchmark::DoNotOptimize(slot.pending.wire_sequence);
    slot.used = false;
    ++next;
  }
}
BENCHMARK(BM_ReplyMatchFlatArray);

v1::PingEvent SamplePingEvent(uint32_t sequence) {
  v1::PingEvent event;
  v1::PingReply* reply = event.mutable_reply();
  reply->mutable_target()->set_host("127.0.1.17");
  reply->mutable_target()->set_address("127.0.1.17");
  reply->mutable_target()->set_family(v1::ADDRESS_FAMILY_IPV4);
  reply->set_sequence(sequence);
  reply->mutable_result()->set_outcome(v1::OUTCOME_OK);
  reply->mutable_rtt()->set_nanos(5480);
  reply->set_reply_ttl(64);
  reply->set_bytes(64);
  reply->mutable_time()->set_seconds(1764500000);
  reply->mutable_time()->set_nanos(123456789);
  return event;
}

// The agent's side: one stream message of 64 ping events, per event.
void BM_PingEventsSerialize(benchmark::State& state) {
  v1::PingEvents events;
  for (uint32_t i = 0; i < 64; ++i) *events.add_events() = SamplePingEvent(i + 1);
  std::string out;
  for (auto _ : state) {
    out.clear();
    events.SerializeToString(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_PingEventsSerialize);

// The client's side of `--json`: one JSON line per event, as WriteJsonLine
// makes it (the writer cached per message type, into a reused string).
void BM_PingEventToJsonLine(benchmark::State& state) {
  const v1::PingEvent event = SamplePingEvent(1);
  std::string line;
  for (auto _ : state) {
    line.clear();
    client::AppendJsonLine(event, &line);
    benchmark::DoNotOptimize(line.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PingEventToJsonLine);

// The same line from protobuf's printer (MessageToJsonString), which --json
// used before issue 21: the reference the writer above matches byte for byte.
void BM_PingEventToJsonLineProtobuf(benchmark::State& state) {
  const v1::PingEvent event = SamplePingEvent(1);
  for (auto _ : state) benchmark::DoNotOptimize(client::ToJsonLineByProtobuf(event));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PingEventToJsonLineProtobuf);

// A stream message of 64 ping events to a FILE, as `netprobe --json ping`
// writes it: a line per event, one flush per stream message.
void BM_PingEventsWriteJsonLines(benchmark::State& state) {
  v1::PingEvents events;
  for (uint32_t i = 0; i < 64; ++i) *events.add_events() = SamplePingEvent(i + 1);
  FILE* out = std::fopen("/dev/null", "w");
  for (auto _ : state) {
    for (const v1::PingEvent& event : events.events()) client::WriteJsonLine(out, event);
    std::fflush(out);
  }
  std::fclose(out);
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_PingEventsWriteJsonLines);

// The client's side of text output's input: parsing a stream message.
void BM_PingEventsParse(benchmark::State& state) {
  v1::PingEvents events;
  for (uint32_t i = 0; i < 64; ++i) *events.add_events() = SamplePingEvent(i + 1);
  const std::string wire = events.SerializeAsString();
  v1::PingEvents parsed;
  for (auto _ : state) {
    parsed.ParseFromString(wire);
    benchmark::DoNotOptimize(parsed.events_size());
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_PingEventsParse);

constexpr int kBatch = 64;
constexpr size_t kFrameBytes = 106;  // a 64-byte UDP payload on lo (Ethernet framing)

v1::CaptureEvents SampleCaptureBatch() {
  v1::CaptureEvents events;
  v1::PacketBatch* batch = events.add_events()->mutable_packets();
  const std::string frame(kFrameBytes, '\x5a');
  for (int i = 0; i < kBatch; ++i) {
    v1::Packet* packet = batch->add_packets();
    packet->mutable_time()->set_seconds(1764500000);
    packet->mutable_time()->set_nanos(1000 * i);
    packet->set_captured_length(kFrameBytes);
    packet->set_original_length(kFrameBytes);
    packet->set_data(frame);
  }
  return events;
}

// The agent's side of capture: building and encoding a batch, per packet
// (three allocations per packet: the Packet, its Timestamp, its bytes).
void BM_CaptureBatchBuildAndSerialize(benchmark::State& state) {
  const std::string frame(kFrameBytes, '\x5a');
  std::string out;
  for (auto _ : state) {
    v1::CaptureEvents events;
    v1::PacketBatch* batch = events.add_events()->mutable_packets();
    for (int i = 0; i < kBatch; ++i) {
      v1::Packet* packet = batch->add_packets();
      packet->mutable_time()->set_seconds(1764500000);
      packet->mutable_time()->set_nanos(1000 * i);
      packet->set_captured_length(kFrameBytes);
      packet->set_original_length(kFrameBytes);
      packet->set_data(frame.data(), frame.size());
    }
    out.clear();
    events.SerializeToString(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_CaptureBatchBuildAndSerialize);

// The client's side: parsing a batch, per packet.
void BM_CaptureBatchParse(benchmark::State& state) {
  const std::string wire = SampleCaptureBatch().SerializeAsString();
  for (auto _ : state) {
    v1::CaptureEvents events;
    events.ParseFromString(wire);
    benchmark::DoNotOptimize(events.events_size());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_CaptureBatchParse);

// Issue 21, the packed form (CaptureRequest.packed_records): the agent
// appends each packet as a pcap record to one bytes field per batch and
// encodes it, per packet.
void BM_CaptureRecordsBuildAndSerialize(benchmark::State& state) {
  const std::string frame(kFrameBytes, '\x5a');
  std::string out;
  for (auto _ : state) {
    v1::CaptureEvents events;
    std::string* records = events.add_events()->mutable_packets()->mutable_records();
    records->reserve(kBatch * (kPacketRecordHeaderBytes + kFrameBytes));
    for (int i = 0; i < kBatch; ++i) {
      AppendPacketRecord(1764500000, 1000 * i, kFrameBytes, frame, records);
    }
    out.clear();
    events.SerializeToString(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_CaptureRecordsBuildAndSerialize);

v1::CaptureEvents SampleRecordsBatch() {
  v1::CaptureEvents events;
  std::string* records = events.add_events()->mutable_packets()->mutable_records();
  const std::string frame(kFrameBytes, '\x5a');
  for (int i = 0; i < kBatch; ++i) {
    AppendPacketRecord(1764500000, 1000 * i, kFrameBytes, frame, records);
  }
  return events;
}

// The client's side of the packed form: parsing a batch and walking its
// records, per packet.
void BM_CaptureRecordsParse(benchmark::State& state) {
  const std::string wire = SampleRecordsBatch().SerializeAsString();
  for (auto _ : state) {
    v1::CaptureEvents events;
    events.ParseFromString(wire);
    PacketRecordReader reader(events.events(0).packets().records());
    PacketRecord record;
    while (reader.Next(&record)) benchmark::DoNotOptimize(record.data.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_CaptureRecordsParse);

// The client's `-w FILE` from a batch of packed records, per packet, to
// /dev/null (pcap: one fwrite of the batch; pcapng: converted).
void BM_PcapWriteRecords(benchmark::State& state) {
  FILE* out = std::fopen("/dev/null", "w");
  if (out == nullptr) {
    state.SkipWithError("cannot open /dev/null");
    return;
  }
  auto writer = client::CaptureFileWriter::Create(
      state.range(0) == 0 ? client::CaptureFileWriter::Format::kPcap
                          : client::CaptureFileWriter::Format::kPcapng,
      out);
  if (!writer->Begin(1, 262144, "lo").ok()) state.SkipWithError("Begin failed");
  std::string records = SampleRecordsBatch().events(0).packets().records();
  for (auto _ : state) benchmark::DoNotOptimize(writer->WriteRecords(&records));
  writer.reset();
  std::fclose(out);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_PcapWriteRecords)->Arg(0)->Arg(1)->ArgName("pcapng");

// The client's `-w FILE`: one pcap record per packet, to /dev/null.
void BM_PcapWrite(benchmark::State& state) {
  FILE* out = std::fopen("/dev/null", "w");
  if (out == nullptr) {
    state.SkipWithError("cannot open /dev/null");
    return;
  }
  auto writer = client::CaptureFileWriter::Create(
      state.range(0) == 0 ? client::CaptureFileWriter::Format::kPcap
                          : client::CaptureFileWriter::Format::kPcapng,
      out);
  if (!writer->Begin(1, 262144, "lo").ok()) state.SkipWithError("Begin failed");
  const std::vector<uint8_t> frame(kFrameBytes, 0x5a);
  const absl::Time time = absl::FromUnixNanos(int64_t{1764500000} * 1000000000);
  for (auto _ : state) benchmark::DoNotOptimize(writer->Write(time, kFrameBytes, frame));
  writer.reset();
  std::fclose(out);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PcapWrite)->Arg(0)->Arg(1)->ArgName("pcapng");

}  // namespace
}  // namespace netprobe

BENCHMARK_MAIN();
