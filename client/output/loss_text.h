#ifndef NETPROBE_CLIENT_OUTPUT_LOSS_TEXT_H_
#define NETPROBE_CLIENT_OUTPUT_LOSS_TEXT_H_

#include <string>

namespace netprobe::client {

// A loss percentage as ping prints it: "0%", "100%", and one decimal
// otherwise ("33.3%"; ping prints "33.3333%", one decimal is enough to read).
std::string FormatLossPercent(double percent);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_LOSS_TEXT_H_
