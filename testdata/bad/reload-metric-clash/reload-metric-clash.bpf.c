#define CALLS_MAP corpus_good_calls
#include "../_objects/calls.h"

COUNT_CALLS("raw_tp/sched_switch", count_switch)
