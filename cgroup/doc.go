// Package cgroup maps cgroup ids, as BPF programs see them, to cgroup paths.
//
// The id that bpf_get_current_cgroup_id() returns is the inode number of the
// cgroup's directory in the cgroup2 filesystem. A [Resolver] walks that
// filesystem to build an id-to-path table, and walks it again, at most once
// per interval, when asked for an id it does not know.
//
// [FindRoot] locates the hierarchy from /proc/self/mountinfo: the cgroup2
// mount on pure v2 hosts (/sys/fs/cgroup) and on hybrid ones
// (/sys/fs/cgroup/unified). On v1-only hosts there is no cgroup2 mount and
// bpf_get_current_cgroup_id() reports the root of the unmounted default
// hierarchy for every task; FindRoot then falls back to a v1 hierarchy (the
// name=systemd one if mounted, else the first v1 mount), whose directory
// inode numbers are the kernfs ids a program can read from a v1 cgroup, so
// that such programs still get paths.
package cgroup
