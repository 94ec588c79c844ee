#include "agent/iperf3/wire.h"
