#define CALLS_MAP names_twice_calls
#include "../_objects/calls.h"

COUNT_CALLS("raw_tp/sched_switch", count_switch)
