#define CALLS_MAP btf_path_calls
#include "../_objects/calls.h"

COUNT_CALLS("raw_tp/sched_switch", count_switch)
