// The e2e tests' object: counts execs by cgroup in the cgroups of cgroup_filter.
#include "../../../e2e/testdata/cgfilter.bpf.c"
