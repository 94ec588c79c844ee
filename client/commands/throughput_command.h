#ifndef NETPROBE_CLIENT_COMMANDS_THROUGHPUT_COMMAND_H_
#define NETPROBE_CLIENT_COMMANDS_THROUGHPUT_COMMAND_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/command_context.h"
#include "common/option_parser.h"
#include "netprobe/v1/throughput.pb.h"

namespace netprobe::client {

// `netprobe throughput [-t DURATION] [-n BYTES] [-P N] [-R] [--bidir] [-u]
//   [-b RATE] [-l LEN] [-w WINDOW] [-C ALGO] [-M MSS] [-O SECONDS]
//   [-i INTERVAL] [-p PORT] [-S TOS] [-N] [-4|-6] HOST[:PORT]`, iperf3 -c's
// options.
std::vector<OptionSpec> ThroughputOptions();
absl::StatusOr<v1::ThroughputRequest> BuildThroughputRequest(
    const ParsedOptions& options);
int RunThroughput(const CommandContext& ctx);

// A quantity with iperf3's suffixes, as its unit_atoi / unit_atof_rate read
// them: "128K", "1.5M", "10g" (K, M, G, T; `base` 1024 for bytes, 1000 for
// bits/s). INVALID_ARGUMENT names `flag`.
absl::StatusOr<uint64_t> ParseIperfQuantity(absl::string_view flag,
                                            absl::string_view text, double base);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_THROUGHPUT_COMMAND_H_
