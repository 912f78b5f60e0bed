// The e2e tests' object: counts execs of the command named by the constant comm.
#include "../../../e2e/testdata/consts.bpf.c"
