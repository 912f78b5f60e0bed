// cgfilter with room for 2 cgroups in its cgroup_id_map: the test makes
// more match, to see the full map reported.
#define CGROUP_FILTER_ENTRIES 2
#include "cgfilter.bpf.c"
