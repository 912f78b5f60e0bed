// Package config owns the NAME.yaml files: reading them, defaults and
// validation. The format is cloudflare/ebpf_exporter's, so its YAML files load
// unchanged.
//
// A config directory holds NAME.yaml and its compiled object NAME.bpf.o. The
// exporter calls Names(dir) to list the configs when none are named, then
// Load(dir, name) for each, and reads the returned Config's fields. NAME
// becomes a metric label value, so both reject a name that is not valid
// UTF-8 or has a control character, naming the file. Load does three things
// in order:
//
//   - a strict decode: an unknown key is an error naming file, line and the
//     known keys ("x.yaml:12: unknown field \"bukcet_type\" in a histogram,
//     did you mean \"bucket_type\"?; known fields: ...");
//   - defaults, as ebpf_exporter has them: bucket_multiplier 1,
//     flush_interval DefaultFlushInterval for perf_event_array counters,
//     cgroup_id_map type hash, a span's name is its ring buffer's name;
//   - Validate, which returns every problem at once, each an *Error such as
//     "x.yaml: metrics.histograms[0].bucket_type: unknown \"exp3\", want
//     exp2|exp2zero|linear|fixed".
//
// Everything here is checked without the BPF object or the kernel. Load does
// not open NAME.bpf.o; package lifecycle opens it and checks it against
// the config (map names, key sizes).
//
// The label conventions: a histogram's last label is the bucket index. A
// label named cpu with size 0 (see Label.PerCPU) takes no key bytes and splits
// a per-CPU map's values by CPU; it may be the last label of a counter, or the
// label just before the bucket label of a histogram. Its decoders get the CPU
// number as a 2-byte little-endian u16, so {name: uint} gives "0", "1", ...
// A counter may have no labels: it is then one global count, and package
// lifecycle checks that its map is a one-entry array (key u32 0). Span
// labels are attribute names (cpu.orig), not Prometheus label names.
//
// One section is an ebpfmon extension, not in ebpf_exporter's format:
// constants (see Constants), values for the object's "volatile const"
// globals. Here only their names and YAML kinds are checked; package
// lifecycle checks each against the variable's type in NAME.bpf.o.
//
// One label field is an extension too: bytes_of (Label.BytesOf) makes a
// label decode the key bytes of an earlier label, with its own decoders,
// taking none of its own (no size, no padding), so that one cgroup id field
// gives a cgroup, a pod, a namespace and a container label. It may name
// another bytes_of label (both read the same bytes), not a later label, the
// per-CPU label, nor be a histogram's bucket label. The pod decoders' not_pod
// and peer_pod's unknown_peer options are the other extensions.
//
// Numbers are bounded so that no config can make ebpfmon loop or allocate
// without bound: at most MaxBuckets buckets per histogram whatever its
// bucket_type, label sizes and paddings at most MaxKeyBytes, bucket keys
// within u64 and within the bucket label's bytes. Names that would clash in
// the exposition (a histogram x beside a counter x_bucket, x_sum or
// x_count) are refused; see SeriesNames.
package config
