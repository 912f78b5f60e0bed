// SPDX-License-Identifier: GPL-2.0
// vfsstat: VFS reads and writes by function: calls counted by a kprobe on
// entry, bytes moved and errors by kretprobes on return.
//
// Needs kprobes (CONFIG_KPROBES, tracefs' kprobe_events). vfs_read and
// vfs_write have kept their names and return type (ssize_t) since 2.6.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

enum vfs_function {
	VFS_READ = 0,
	VFS_WRITE = 1,
};

struct function_key {
	__u32 function;
};

struct function_errno_key {
	__u32 function;
	__u32 errno; /* positive */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct function_key);
	__type(value, __u64);
} vfs_calls_total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct function_key);
	__type(value, __u64);
} vfs_bytes_total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct function_errno_key);
	__type(value, __u64);
} vfs_errors_total SEC(".maps");

static __always_inline void count_call(__u32 function)
{
	struct function_key key = { .function = function };

	increment_map(&vfs_calls_total, &key, 1);
}

/* A return value >= 0 is the number of bytes moved, a negative one an
 * errno. */
static __always_inline void count_return(__u32 function, long ret)
{
	if (ret >= 0) {
		struct function_key key = { .function = function };

		if (ret > 0)
			increment_map(&vfs_bytes_total, &key, ret);
		return;
	}
	struct function_errno_key key = { .function = function, .errno = -ret };

	increment_map(&vfs_errors_total, &key, 1);
}

SEC("kprobe/vfs_read")
int BPF_KPROBE(vfs_read_entry)
{
	count_call(VFS_READ);
	return 0;
}

SEC("kprobe/vfs_write")
int BPF_KPROBE(vfs_write_entry)
{
	count_call(VFS_WRITE);
	return 0;
}

SEC("kretprobe/vfs_read")
int BPF_KRETPROBE(vfs_read_return, long ret)
{
	count_return(VFS_READ, ret);
	return 0;
}

SEC("kretprobe/vfs_write")
int BPF_KRETPROBE(vfs_write_return, long ret)
{
	count_return(VFS_WRITE, ret);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
