// The good config served beside every bad case: counts sched_switch into
// corpus_good_calls, a metric name no case uses.
#define CALLS_MAP corpus_good_calls
#include "../_objects/calls.h"

COUNT_CALLS("raw_tp/sched_switch", count_switch)
