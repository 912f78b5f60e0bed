#define CALLS_MAP tracepoint_missing_strict_calls
#include "../_objects/calls.h"

COUNT_CALLS("tracepoint/ebpfmon_nosuch/event", on_hook)
