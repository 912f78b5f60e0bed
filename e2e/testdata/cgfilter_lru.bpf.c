// cgfilter with an LRU hash as its cgroup_id_map, which ebpfmon refuses:
// when full, it would evict cgroups silently.
#define CGROUP_FILTER_TYPE BPF_MAP_TYPE_LRU_HASH
#include "cgfilter.bpf.c"
