#define CALLS_MAP kprobe_missing_calls
#include "../_objects/calls.h"

COUNT_CALLS("kprobe/ebpfmon_nosuch_function", on_hook)
