#ifndef NETPROBE_TESTS_TEST_SUPPORT_PORTS_H_
#define NETPROBE_TESTS_TEST_SUPPORT_PORTS_H_

#include <cstdint>

namespace netprobe::testing {

// A TCP port on 127.0.0.1 that nothing listens on: bound to port 0 (the
// kernel picks a free one), then closed. Connects to it are refused at once.
uint16_t ClosedLoopbackPort();

}  // namespace netprobe::testing

#endif  // NETPROBE_TESTS_TEST_SUPPORT_PORTS_H_
