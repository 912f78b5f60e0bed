#define CALLS_MAP perf_event_bad_calls
#include "../_objects/calls.h"

COUNT_CALLS("perf_event/type=1", on_hook)
