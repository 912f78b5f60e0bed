#define CALLS_MAP pin_path_not_bpffs_calls
#include "../_objects/calls.h"

COUNT_CALLS("raw_tp/sched_switch", count_switch)
