#define CALLS_MAP reload_key_size_calls
#include "../_objects/calls.h"

COUNT_CALLS("raw_tp/sched_switch", count_switch)
