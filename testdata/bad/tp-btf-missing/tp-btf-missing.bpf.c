#define CALLS_MAP tp_btf_missing_calls
#include "../_objects/calls.h"

COUNT_CALLS("tp_btf/ebpfmon_nosuch", on_hook)
