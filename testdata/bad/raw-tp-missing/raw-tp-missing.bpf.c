#define CALLS_MAP raw_tp_missing_calls
#include "../_objects/calls.h"

COUNT_CALLS("raw_tp/ebpfmon_nosuch", on_hook)
