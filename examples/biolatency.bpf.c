// SPDX-License-Identifier: GPL-2.0
// biolatency: block request latency (issue to completion) and request size,
// by device and operation.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "maps.bpf.h"

/* 2^26 us is about 67 s: anything slower is counted in le="+Inf" (the
 * overflow key, bucket_max + 2; bucket_overflow: true in the YAML). */
#define LATENCY_BUCKET_MAX 26
/* Sizes in 4 KiB steps up to 256 KiB. The sum is in steps too, so it
 * rounds each request up to 4 KiB: exact for 4 KiB-block filesystems. */
#define SIZE_STEP 4096
#define SIZE_BUCKET_MAX 64

/* The classic tracepoints carry no request pointer, so a request is
 * identified by its device and first sector, the same pair both events have. */
struct request_id {
	__u32 dev;
	__u32 _pad;
	__u64 sector;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, struct request_id);
	__type(value, __u64); /* issue time, ns */
} issued_at SEC(".maps");

struct disk_op_key {
	__u32 dev; /* device number as user space encodes it, see encode_dev */
	__u8 op;   /* first letter of rwbs: R, W, D, F, N, E */
	__u8 _pad[3];
	__u64 bucket;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct disk_op_key);
	__type(value, __u64);
} bio_latency_seconds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct disk_op_key);
	__type(value, __u64);
} bio_size_bytes SEC(".maps");

/* The tracepoints carry the kernel's dev_t (major << 20 | minor); the
 * majorminor decoder, like stat(2)'s st_dev, wants the user space encoding
 * (the kernel's new_encode_dev). */
static __always_inline __u32 encode_dev(__u32 dev)
{
	__u32 major = dev >> 20, minor = dev & 0xfffff;

	return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
}

/* rwbs is e.g. "WS", "R", "FWS" (preflush + write + sync) or "FN" (flush):
 * the operation is the first letter after an optional leading F. The two
 * bytes are passed by value: the verifier refuses loads through a pointer
 * derived from ctx. */
static __always_inline __u8 rwbs_op(char first, char second)
{
	if (first == 'F' && second != '\0' && second != 'N')
		return second;
	return first;
}

SEC("tracepoint/block/block_rq_issue")
int block_rq_issue(struct trace_event_raw_block_rq *ctx)
{
	struct request_id id = { .dev = ctx->dev, .sector = ctx->sector };
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&issued_at, &id, &now, BPF_ANY);

	struct disk_op_key key = {
		.dev = encode_dev(ctx->dev),
		.op = rwbs_op(ctx->rwbs[0], ctx->rwbs[1]),
	};

	histogram_linear_overflow(&bio_size_bytes, key, ctx->bytes, SIZE_STEP, SIZE_BUCKET_MAX);
	return 0;
}

/* block_rq_complete's struct is trace_event_raw_block_rq_completion since
 * 5.19 and trace_event_raw_block_rq_complete until then, with the same
 * fields. This flavour (CO-RE ignores a "___" suffix when matching kernel
 * types) names the old one; the branch for the struct this kernel lacks is
 * dead once loaded (bpf_core_type_exists is a constant), so its unsatisfied
 * relocations are never reached. Probe reads (BPF_CORE_READ) rather than
 * plain loads: clang merges the two branches into loads at ctx + a chosen
 * offset, which the verifier refuses for a ctx pointer. */
struct trace_event_raw_block_rq_complete___old {
	dev_t dev;
	sector_t sector;
	char rwbs[8];
} __attribute__((preserve_access_index));

/* rq_done is what block_rq_complete tells, whatever the struct's name. */
struct rq_done {
	__u32 dev;
	__u64 sector;
	char op[2];
};

static __always_inline void read_completion(void *ctx, struct rq_done *c)
{
	struct trace_event_raw_block_rq_completion *new = ctx;
	struct trace_event_raw_block_rq_complete___old *old = ctx;

	if (bpf_core_type_exists(struct trace_event_raw_block_rq_completion)) {
		c->dev = BPF_CORE_READ(new, dev);
		c->sector = BPF_CORE_READ(new, sector);
		bpf_core_read(c->op, sizeof(c->op), &new->rwbs);
	} else {
		c->dev = BPF_CORE_READ(old, dev);
		c->sector = BPF_CORE_READ(old, sector);
		bpf_core_read(c->op, sizeof(c->op), &old->rwbs);
	}
}

SEC("tracepoint/block/block_rq_complete")
int block_rq_complete(void *ctx)
{
	struct rq_done c;

	read_completion(ctx, &c);

	struct request_id id = { .dev = c.dev, .sector = c.sector };
	__u64 *start = bpf_map_lookup_elem(&issued_at, &id);

	if (!start)
		return 0;

	__u64 delta_us = (bpf_ktime_get_ns() - *start) / 1000;

	bpf_map_delete_elem(&issued_at, &id);

	struct disk_op_key key = {
		.dev = encode_dev(c.dev),
		.op = rwbs_op(c.op[0], c.op[1]),
	};

	histogram_exp2_overflow(&bio_latency_seconds, key, delta_us, LATENCY_BUCKET_MAX);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
