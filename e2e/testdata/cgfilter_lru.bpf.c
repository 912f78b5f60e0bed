// cgfilter with an LRU hash, as in ebpf_exporter's cgroup-id-map example,
// with room for 2 cgroups: ebpfmon accepts it, finds what the kernel
// evicts, and reports the map full when more cgroups match.
#define CGROUP_FILTER_TYPE BPF_MAP_TYPE_LRU_HASH
#define CGROUP_FILTER_ENTRIES 2
#include "cgfilter.bpf.c"
