package config

import "time"

// Config is one NAME.yaml: the metric schema of one eBPF object, NAME.bpf.o.
// The YAML format is that of cloudflare/ebpf_exporter, so its files load unchanged.
type Config struct {
	// Name is the config name: the file name without .yaml.
	Name string `yaml:"-"`
	// Path is the YAML file this config was read from.
	Path string `yaml:"-"`
	// BPFPath is the compiled object beside the YAML: NAME.bpf.o.
	BPFPath string `yaml:"-"`

	// Metrics are the maps exported as Prometheus metrics.
	Metrics Metrics `yaml:"metrics"`
	// Kaddrs are kernel symbols whose addresses are written into the
	// object's kaddr_SYMBOL variables before it is loaded.
	Kaddrs []string `yaml:"kaddrs"`
	// CgroupIDMap, when set, names a map kept filled with matching cgroups.
	CgroupIDMap *CgroupIDMap `yaml:"cgroup_id_map"`
	// Tracing, when set, turns ring buffer records into spans.
	Tracing *Tracing `yaml:"tracing"`
	// Constants are values for the object's "volatile const" globals, set
	// before it is loaded (an ebpfmon extension; see Constants).
	Constants Constants `yaml:"constants"`
}

// Metrics lists the maps exported as Prometheus metrics.
type Metrics struct {
	// Counters are maps of label set to u64 count.
	Counters []Counter `yaml:"counters"`
	// Histograms are maps of label set plus bucket index to u64 count.
	Histograms []Histogram `yaml:"histograms"`
}

// DefaultFlushInterval is how often a perf_event_array counter is reset when
// its flush_interval is unset (ebpf_exporter uses the same hour).
const DefaultFlushInterval = time.Hour

// Counter exports a map whose values are u64 counts (or a perf event array of label sets).
type Counter struct {
	// Name is both the BPF map name and the metric name (before the namespace prefix).
	Name string `yaml:"name"`
	// Help is the metric's HELP text.
	Help string `yaml:"help"`
	// PerfEventArray says the map is a perf event array: every record is
	// one label set, counted once, instead of a key with a count.
	PerfEventArray bool `yaml:"perf_event_array"`
	// FlushInterval is how often a perf_event_array counter forgets its
	// label sets; DefaultFlushInterval when unset. Only for perf_event_array.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// Labels describe the map key, field by field, in order.
	Labels []Label `yaml:"labels"`
	// MaxSeries, an ebpfmon extension, is the most label sets exported;
	// further ones fold into one overflow series. 0: the global default
	// (--metrics.max-series).
	MaxSeries int `yaml:"max_series"`
}

// Histogram exports a map whose last label is a bucket index and whose values are counts.
type Histogram struct {
	// Name is both the BPF map name and the metric name (before the namespace prefix).
	Name string `yaml:"name"`
	// Help is the metric's HELP text.
	Help string `yaml:"help"`
	// BucketType says how a bucket index becomes an upper bound.
	BucketType BucketType `yaml:"bucket_type"`
	// BucketMultiplier scales every upper bound (e.g. 1e-6 for µs to s); 1 when unset.
	BucketMultiplier float64 `yaml:"bucket_multiplier"`
	// BucketMin is the first bucket index exported (exp2, exp2zero, linear).
	BucketMin int `yaml:"bucket_min"`
	// BucketMax is the last bucket index exported (exp2, exp2zero, linear);
	// the key BucketMax+1, if present, holds the sum.
	BucketMax int `yaml:"bucket_max"`
	// BucketKeys are the bucket indexes, in increasing order (fixed only).
	BucketKeys []float64 `yaml:"bucket_keys"`
	// BucketOverflow says the key after the sum key (BucketMax+2; fixed:
	// last key + 2) counts observations above the top bound: they are
	// exported in le="+Inf" and _count only. Unset, such keys are ignored
	// and programs clamp overflow into the last bucket, as ebpf_exporter's do.
	BucketOverflow bool `yaml:"bucket_overflow"`
	// Labels describe the map key, field by field; the last one is the bucket index.
	Labels []Label `yaml:"labels"`
	// MaxSeries, an ebpfmon extension, is the most label sets exported
	// (each a histogram series); further ones fold into one overflow
	// series. 0: the global default (--metrics.max-series).
	MaxSeries int `yaml:"max_series"`
}

// BucketType says how a histogram's bucket index maps to an upper bound.
type BucketType string

// Bucket types.
const (
	// BucketExp2: key k counts values in (2^(k-1), 2^k].
	BucketExp2 BucketType = "exp2"
	// BucketExp2Zero: key 0 counts zeros, key k>0 counts values in (2^(k-2), 2^(k-1)].
	BucketExp2Zero BucketType = "exp2zero"
	// BucketLinear: key k counts values in (k-1, k].
	BucketLinear BucketType = "linear"
	// BucketFixed: the keys are the upper bounds listed in bucket_keys.
	BucketFixed BucketType = "fixed"
)

// Label is one field of a map key and the decoders that turn its bytes into a label value.
type Label struct {
	// Name is the Prometheus label name (for a histogram's last label, any name).
	Name string `yaml:"name"`
	// Size is the number of key bytes this label decodes. It is 0 only for
	// the per-CPU label; see PerCPU.
	Size uint `yaml:"size"`
	// Padding is the number of bytes skipped after this label's bytes.
	Padding uint `yaml:"padding"`
	// BytesOf, an ebpfmon extension, names an earlier label whose key bytes
	// this label decodes too, with its own decoders: one key field (a
	// cgroup id) then gives several labels (pod, namespace, container).
	// Such a label takes no key bytes of its own: its Size and Padding
	// stay 0. It may name a label that is itself a BytesOf label: both
	// decode the same bytes.
	BytesOf string `yaml:"bytes_of"`
	// Decoders turn the bytes into the label value, applied in order.
	Decoders []Decoder `yaml:"decoders"`
}

// PerCPU reports whether l is the per-CPU label: named cpu with size 0. It
// takes no key bytes; the exporter splits per-CPU map values by CPU and runs
// the label's decoder chain on the CPU number encoded as a little-endian u16
// (2 bytes), so {name: uint} gives "0", "1", .... The exporter does the
// same for ebpf_exporter's spelling, a cpu label of size 2 in that place
// whose bytes the map key lacks. Validate allows the size-0 label only as
// the last label of a counter, or the label just before the bucket label of
// a histogram.
func (l Label) PerCPU() bool {
	return l.Name == "cpu" && l.Size == 0 && l.BytesOf == ""
}

// KeySize is the number of key bytes labels describe: the sum of their sizes
// and paddings. The per-CPU label and bytes_of labels add nothing.
func KeySize(labels []Label) uint {
	var n uint
	for _, l := range labels {
		n += l.Size + l.Padding
	}
	return n
}

// Decoder is one step of a label's decoder chain.
type Decoder struct {
	// Name is the decoder, one of DecoderNames.
	Name string `yaml:"name"`
	// StaticMap maps input to output (static_map decoder only).
	StaticMap StaticMap `yaml:"static_map"`
	// Regexps keep the label set only if the input matches one of them (regexp decoder only).
	Regexps []string `yaml:"regexps"`
	// AllowUnknown passes input missing from StaticMap through unchanged
	// instead of "unknown:INPUT" (static_map decoder only).
	AllowUnknown bool `yaml:"allow_unknown"`
	// NotPod is what a cgroup outside every pod decodes to: NotPodEmpty
	// (the default), NotPodPath or NotPodSkip (pod, pod_namespace and
	// container decoders only).
	NotPod string `yaml:"not_pod"`
	// UnknownPeer is what an address of no known pod or service decodes
	// to: PeerExternal (the default), PeerIP or PeerSkip (peer_pod decoder
	// only).
	UnknownPeer string `yaml:"unknown_peer"`
	// Enum is the enum of the kernel's BTF whose value names the input
	// number gets (btf_enum decoder only).
	Enum string `yaml:"enum"`
	// StripPrefix is cut from the start of each of Enum's value names
	// (btf_enum decoder only).
	StripPrefix string `yaml:"strip_prefix"`
}

// Values of Decoder.NotPod.
const (
	// NotPodEmpty: an empty label value.
	NotPodEmpty = "empty"
	// NotPodPath: the cgroup path itself.
	NotPodPath = "path"
	// NotPodSkip: the series is left out.
	NotPodSkip = "skip"
)

// Values of Decoder.UnknownPeer.
const (
	// PeerExternal: the value "external".
	PeerExternal = "external"
	// PeerIP: the address itself.
	PeerIP = "ip"
	// PeerSkip: the series is left out.
	PeerSkip = "skip"
)

// PodDecoders are the decoders that take a cgroup path and resolve it
// to a pod; they take the not_pod option.
func PodDecoders() []string { return []string{"pod", "pod_namespace", "container"} }

// CgroupIDMap names a map the BPF side reads to filter by cgroup; ebpfmon fills it
// with the ids of cgroups whose path matches one of Regexps or, with a
// Selector, of every cgroup of the pods it selects. Exactly one of the two
// is set.
type CgroupIDMap struct {
	// Name is the BPF map to fill.
	Name string `yaml:"name"`
	// Type is the map type; CgroupIDMapHash when unset.
	Type CgroupIDMapType `yaml:"type"`
	// Regexps select cgroups by path; a cgroup matching any of them is added.
	Regexps []string `yaml:"regexps"`
	// Selector, an ebpfmon extension, selects pods of this node: the
	// pod-level cgroup and every container's of each (and the cgroups
	// below them) are added. It needs the Kubernetes API.
	Selector *PodSelector `yaml:"selector"`
}

// PodSelector selects pods by namespace and labels: a Kubernetes label
// selector, all of whose terms must hold, and a list of namespaces. At
// least one of its fields is set.
type PodSelector struct {
	// Namespaces the pods may be in; empty: any.
	Namespaces []string `yaml:"namespaces"`
	// MatchLabels are labels a pod must have, with these values.
	MatchLabels map[string]string `yaml:"matchLabels"`
	// MatchExpressions are further terms on the pod's labels.
	MatchExpressions []LabelRequirement `yaml:"matchExpressions"`
}

// Empty reports whether s selects by nothing, so every pod.
func (s *PodSelector) Empty() bool {
	return len(s.Namespaces) == 0 && len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
}

// LabelRequirement is one of a selector's matchExpressions, as in
// Kubernetes: Operator is one of LabelOperators; In and NotIn take at
// least one value, Exists and DoesNotExist none.
type LabelRequirement struct {
	Key      string   `yaml:"key"`
	Operator string   `yaml:"operator"`
	Values   []string `yaml:"values"`
}

// LabelOperators are the operators of a LabelRequirement.
func LabelOperators() []string { return []string{"In", "NotIn", "Exists", "DoesNotExist"} }

// CgroupIDMapType is the kind of BPF map a CgroupIDMap names.
type CgroupIDMapType string

// Cgroup id map types.
const (
	// CgroupIDMapHash: a hash map keyed by u64 cgroup id, value u64.
	CgroupIDMapHash CgroupIDMapType = "hash"
	// CgroupIDMapCgrpStorage: cgroup local storage, updated through a cgroup fd.
	CgroupIDMapCgrpStorage CgroupIDMapType = "cgrp_storage"
)

// Tracing describes spans produced from ring buffer records.
type Tracing struct {
	// Spans are the kinds of span, one ring buffer each.
	Spans []Span `yaml:"spans"`
}

// Span is one kind of span read from a ring buffer.
type Span struct {
	// Name is the span name (a span_name label overrides it per record);
	// the ring buffer name when unset.
	Name string `yaml:"name"`
	// RingBuf is the BPF ring buffer map the records come from.
	RingBuf string `yaml:"ringbuf"`
	// Service is the service name of the spans; empty means the exporter's default.
	Service string `yaml:"service"`
	// Labels describe the record, field by field. trace_id, parent_span_id,
	// span_id, span_monotonic_timestamp_ns, span_duration_ns and span_name
	// have special meaning; other labels become span attributes.
	Labels []Label `yaml:"labels"`
}
