// Fixture for the `layering_catches_violations` test: net may not use probes.
#include "agent/probes/pacer.h"
