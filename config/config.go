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

	Metrics     Metrics      `yaml:"metrics"`
	Kaddrs      []string     `yaml:"kaddrs"`
	CgroupIDMap *CgroupIDMap `yaml:"cgroup_id_map"`
	Tracing     *Tracing     `yaml:"tracing"`
}

// Metrics lists the maps exported as Prometheus metrics.
type Metrics struct {
	Counters   []Counter   `yaml:"counters"`
	Histograms []Histogram `yaml:"histograms"`
}

// Counter exports a map whose values are u64 counts (or a perf event array of label sets).
type Counter struct {
	// Name is both the BPF map name and the metric name (before the namespace prefix).
	Name           string        `yaml:"name"`
	Help           string        `yaml:"help"`
	PerfEventArray bool          `yaml:"perf_event_array"`
	FlushInterval  time.Duration `yaml:"flush_interval"`
	Labels         []Label       `yaml:"labels"`
}

// Histogram exports a map whose last label is a bucket index and whose values are counts.
type Histogram struct {
	Name             string     `yaml:"name"`
	Help             string     `yaml:"help"`
	BucketType       BucketType `yaml:"bucket_type"`
	BucketMultiplier float64    `yaml:"bucket_multiplier"`
	BucketMin        int        `yaml:"bucket_min"`
	BucketMax        int        `yaml:"bucket_max"`
	BucketKeys       []float64  `yaml:"bucket_keys"`
	Labels           []Label    `yaml:"labels"`
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
	Name     string    `yaml:"name"`
	Size     uint      `yaml:"size"`
	Padding  uint      `yaml:"padding"`
	Decoders []Decoder `yaml:"decoders"`
}

// Decoder is one step of a label's decoder chain.
type Decoder struct {
	Name         string            `yaml:"name"`
	StaticMap    map[string]string `yaml:"static_map"`
	Regexps      []string          `yaml:"regexps"`
	AllowUnknown bool              `yaml:"allow_unknown"`
}

// CgroupIDMap names a map the BPF side reads to filter by cgroup; ebpfmon fills it
// with the ids of cgroups whose path matches one of Regexps.
type CgroupIDMap struct {
	Name    string   `yaml:"name"`
	Type    string   `yaml:"type"`
	Regexps []string `yaml:"regexps"`
}

// Tracing describes spans produced from ring buffer records.
type Tracing struct {
	Spans []Span `yaml:"spans"`
}

// Span is one kind of span read from a ring buffer.
type Span struct {
	Name    string  `yaml:"name"`
	RingBuf string  `yaml:"ringbuf"`
	Service string  `yaml:"service"`
	Labels  []Label `yaml:"labels"`
}
