// A valid object for a calls.yaml-shaped config: the cases whose YAML is
// wrong use it, so that only the YAML is.
#include "calls.h"

COUNT_CALLS("raw_tp/sched_switch", count_switch)
