package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// DecoderNames lists the decoder names a config may use. It must match the
// decoder package's registry (the decoder tests check that).
func DecoderNames() []string {
	return []string{
		"uint", "hex", "string", "static_map", "regexp", "ksym", "kstack", "inet_ip",
		"cgroup", "errno", "syscall", "majorminor", "ifname", "dname",
		"pci_vendor", "pci_device", "pci_class", "pci_subclass",
		"pod", "pod_namespace", "container", "peer_pod", "btf_enum",
	}
}

// Limits on bucket indexes.
const (
	maxExp2Bucket     = 63 // 2^63 is the largest power of two in a u64
	maxExp2ZeroBucket = 64 // key k holds values up to 2^(k-1)
)

// MaxBuckets is the most buckets one histogram may have, whatever its
// bucket_type: beyond it a histogram is unreadable anyway, and every
// series of it costs memory at each scrape.
const MaxBuckets = 10000

// MaxKeyBytes bounds each label's size and padding, and their sum: far
// above any BPF map key (at most 512 bytes) or record a label set
// describes, low enough that adding them up cannot overflow.
const MaxKeyBytes = 1 << 20

const (
	bucketTypesWant = "exp2|exp2zero|linear|fixed"
	cgroupTypesWant = "hash|cgrp_storage"
)

// Validate checks c (as returned by Parse, defaults applied) and returns every
// problem at once, joined; each is an *Error naming the file and field path.
func (c *Config) Validate() error {
	v := &validator{file: c.Path}
	v.config(c)
	return errors.Join(v.errs...)
}

// validator collects problems while walking a config.
type validator struct {
	file string
	errs []error
}

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.file, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// addLine is add for a problem whose line is known.
func (v *validator) addLine(line int, field, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) config(c *Config) {
	m := c.Metrics
	if len(m.Counters)+len(m.Histograms) == 0 && c.Tracing == nil {
		v.add("", "nothing to export, want metrics.counters, metrics.histograms or tracing.spans")
	}
	names := map[string]string{}
	for i, ctr := range m.Counters {
		p := fmt.Sprintf("metrics.counters[%d]", i)
		v.counter(p, ctr)
		v.unique(names, p+".name", ctr.Name)
	}
	for i, h := range m.Histograms {
		p := fmt.Sprintf("metrics.histograms[%d]", i)
		v.histogram(p, h)
		v.unique(names, p+".name", h.Name)
	}
	v.seriesClashes(m)
	v.kaddrs(c.Kaddrs)
	v.constants(c.Constants)
	if c.CgroupIDMap != nil {
		v.cgroupIDMap(*c.CgroupIDMap)
	}
	if c.Tracing != nil {
		v.tracing(c.Tracing.Spans)
	}
}

// unique reports name if seen already holds it; seen maps a value to the
// field path (always containing a '.') that first used it.
func (v *validator) unique(seen map[string]string, field, name string) {
	if name == "" {
		return
	}
	if first, ok := seen[name]; ok {
		owner := first[:strings.LastIndexByte(first, '.')]
		v.add(field, "%q already used by %s: rename one of the two", name, owner)
		return
	}
	seen[name] = field
}

// SeriesNames lists the names a metric called name puts in the
// exposition: its own and, for a histogram, its series name_bucket,
// name_sum and name_count.
func SeriesNames(name string, histogram bool) []string {
	if !histogram {
		return []string{name}
	}
	return []string{name, name + "_bucket", name + "_sum", name + "_count"}
}

// seriesClashes reports metrics whose series names collide though their
// names differ (equal names are reported by unique): a histogram x beside
// a counter x_bucket, x_sum or x_count, or a histogram x_sum.
func (v *validator) seriesClashes(m Metrics) {
	type owner struct{ field, name string }
	seen := map[string]owner{}
	check := func(p, name string, histogram bool) {
		if name == "" {
			return
		}
		series := SeriesNames(name, histogram)
		for _, s := range series {
			if o, ok := seen[s]; ok && o.name != name {
				v.add(p+".name", "%q and %s (%q) both export %s (a histogram x exports x_bucket, x_sum and x_count): rename one of them",
					name, o.field, o.name, s)
				return
			}
		}
		for _, s := range series {
			if _, ok := seen[s]; !ok {
				seen[s] = owner{p, name}
			}
		}
	}
	for i, c := range m.Counters {
		check(fmt.Sprintf("metrics.counters[%d]", i), c.Name, false)
	}
	for i, h := range m.Histograms {
		check(fmt.Sprintf("metrics.histograms[%d]", i), h.Name, true)
	}
}

// metric checks what counters and histograms share: name and help.
func (v *validator) metric(p, name, help string) {
	switch {
	case name == "":
		v.add(p+".name", "missing, want the name of the BPF map to export")
	case !validMetricName(name):
		v.add(p+".name", "%q is not a valid Prometheus metric name, want [a-zA-Z_:][a-zA-Z0-9_:]*", name)
	}
	if strings.TrimSpace(help) == "" {
		v.add(p+".help", "missing, want a one-line description of the metric")
	}
}

func (v *validator) counter(p string, c Counter) {
	v.metric(p, c.Name, c.Help)
	// Without labels a counter is one global count: the object must hold
	// it in a one-entry array (key u32 0), which CheckSpec verifies.
	if len(c.Labels) == 0 && c.PerfEventArray {
		v.add(p+".labels", "empty, want at least one label describing the records")
	}
	cpuAt := len(c.Labels) - 1
	if c.PerfEventArray {
		cpuAt = -1
	}
	v.labels(p, c.Labels, labelRules{cpuAt: cpuAt, bucketAt: -1})
	switch {
	case !c.PerfEventArray && c.FlushInterval != 0:
		v.add(p+".flush_interval", "only used with perf_event_array: true")
	case c.FlushInterval < 0:
		v.add(p+".flush_interval", "%s is negative, want a duration >= 0 such as \"1m\"", c.FlushInterval)
	}
	v.maxSeries(p, c.MaxSeries)
}

// maxSeries checks a metric's max_series: 0 takes the global default.
func (v *validator) maxSeries(p string, n int) {
	if n < 0 {
		v.add(p+".max_series", "%d is negative, want a number of series such as 1000, or 0 (or no max_series) for the --metrics.max-series default", n)
	}
}

func (v *validator) histogram(p string, h Histogram) {
	v.metric(p, h.Name, h.Help)
	v.maxSeries(p, h.MaxSeries)
	if len(h.Labels) == 0 {
		v.add(p+".labels", "empty, want at least the bucket label (the last label)")
	}
	n := len(h.Labels)
	v.labels(p, h.Labels, labelRules{cpuAt: n - 2, bucketAt: n - 1})
	before := len(v.errs)
	switch h.BucketType {
	case BucketExp2, BucketExp2Zero, BucketLinear:
		v.bucketRange(p, h)
	case BucketFixed:
		v.bucketKeys(p, h.BucketKeys)
	case "":
		v.add(p+".bucket_type", "missing, want %s", bucketTypesWant)
	default:
		v.add(p+".bucket_type", "unknown %q, want %s", h.BucketType, bucketTypesWant)
	}
	if m := h.BucketMultiplier; !(m > 0) || math.IsInf(m, 0) {
		v.add(p+".bucket_multiplier", "%v, want a number > 0 (1 when unset)", m)
	}
	if len(v.errs) == before { // the range is sane: check the bounds it gives
		v.bucketBounds(p, h)
		v.bucketKeysFit(p, h)
	}
}

// bucketRange checks bucket_min and bucket_max of exp2, exp2zero and linear histograms.
func (v *validator) bucketRange(p string, h Histogram) {
	lo, hi := h.BucketMin, h.BucketMax
	if lo < 0 {
		v.add(p+".bucket_min", "%d is negative, want a bucket index >= 0", lo)
	}
	if hi < lo {
		v.add(p+".bucket_max", "%d is below bucket_min %d, want bucket_max >= bucket_min", hi, lo)
	}
	switch {
	case h.BucketType == BucketExp2 && hi > maxExp2Bucket:
		v.add(p+".bucket_max", "%d is too large for exp2, want <= %d", hi, maxExp2Bucket)
	case h.BucketType == BucketExp2Zero && hi > maxExp2ZeroBucket:
		v.add(p+".bucket_max", "%d is too large for exp2zero, want <= %d", hi, maxExp2ZeroBucket)
	case hi >= lo && lo >= 0 && hi-lo >= MaxBuckets: // cannot overflow: 0 <= lo <= hi
		v.add(p+".bucket_max", "%d makes %d buckets from bucket_min %d, want at most %d: raise bucket_min or lower bucket_max", hi, uint64(hi-lo)+1, lo, MaxBuckets)
	}
	if len(h.BucketKeys) > 0 {
		v.add(p+".bucket_keys", "only used with bucket_type fixed, remove it")
	}
}

// bucketKeys checks a fixed histogram's keys: at most MaxBuckets of them,
// each a whole number from 0 to 2^64-1, strictly increasing.
func (v *validator) bucketKeys(p string, keys []float64) {
	switch {
	case len(keys) == 0:
		v.add(p+".bucket_keys", "empty, want the bucket keys (map key values) in increasing order")
	case len(keys) > MaxBuckets:
		v.add(p+".bucket_keys", "%d keys, want at most %d buckets", len(keys), MaxBuckets)
		return
	}
	for i, k := range keys {
		if msg := bucketKeyProblem(k); msg != "" {
			v.add(fmt.Sprintf("%s.bucket_keys[%d]", p, i), "%s", msg)
			continue
		}
		if i > 0 && k <= keys[i-1] {
			v.add(fmt.Sprintf("%s.bucket_keys[%d]", p, i), "%v is not above bucket_keys[%d] = %v, want strictly increasing keys", k, i-1, keys[i-1])
		}
	}
}

// twoTo64 is 2^64, the first float64 above every u64.
const twoTo64 = 1 << 64

// bucketKeyProblem says why k cannot be a u64 map key, or "".
func bucketKeyProblem(k float64) string {
	switch {
	case math.IsNaN(k):
		return "NaN is not a number, want a map key value from 0 to 2^64-1"
	case k < 0:
		return fmt.Sprintf("%v is negative, want a map key value from 0 to 2^64-1", k)
	case k >= twoTo64:
		return fmt.Sprintf("%v exceeds 2^64-1, the largest u64 map key (keys are read as float64: above 2^53 they round, and 2^64-1 itself rounds up to 2^64)", k)
	case k != math.Trunc(k):
		return fmt.Sprintf("%v is not a whole number, want a map key value from 0 to 2^64-1", k)
	}
	return ""
}

// bucketKeysFit checks that h's top bucket key fits in its bucket label:
// a key the label's bytes cannot hold never appears in the map.
func (v *validator) bucketKeysFit(p string, h Histogram) {
	if len(h.Labels) == 0 {
		return
	}
	size := h.Labels[len(h.Labels)-1].Size
	if size == 0 || size >= 8 {
		return
	}
	limit := uint64(1)<<(8*size) - 1
	field, top := p+".bucket_max", uint64(max(h.BucketMax, 0))
	if h.BucketType == BucketFixed {
		field, top = p+".bucket_keys", uint64(h.BucketKeys[len(h.BucketKeys)-1])
	}
	if top > limit {
		v.add(field, "key %d does not fit the %d-byte bucket label %q (at most %d): widen the label or lower the keys",
			top, size, h.Labels[len(h.Labels)-1].Name, limit)
		return
	}
	// The sum key, top+1, would wrap to 0 and land in the first bucket.
	if top+1 > limit {
		v.add(field, "the sum key %d (top bucket key + 1, where include/maps.bpf.h's helpers add up the values) does not fit the %d-byte bucket label %q (at most %d): widen the label or lower the keys",
			top+1, size, h.Labels[len(h.Labels)-1].Name, limit)
		return
	}
	// bucket_overflow counts values above the top bucket under top+2.
	if h.BucketOverflow && top+2 > limit {
		v.add(p+".bucket_overflow", "the overflow key %d (top bucket key + 2) does not fit the %d-byte bucket label %q (at most %d): widen the label or lower the keys",
			top+2, size, h.Labels[len(h.Labels)-1].Name, limit)
	}
}

// labelRules says where a label list may hold the per-CPU label and which
// label is a histogram's bucket; -1 for none. attrs says the names are
// span attribute names, not Prometheus label names.
type labelRules struct {
	cpuAt, bucketAt int
	attrs           bool
}

func (v *validator) labels(p string, labels []Label, rules labelRules) {
	seen := map[string]string{}
	var total uint64
	for i, l := range labels {
		lp := fmt.Sprintf("%s.labels[%d]", p, i)
		v.labelName(lp, l.Name, rules, i == rules.bucketAt)
		v.unique(seen, lp+".name", l.Name)
		if l.BytesOf != "" {
			v.bytesOf(lp, labels, i, rules)
		} else {
			v.labelSize(lp, l, i == rules.cpuAt)
		}
		v.decoders(lp, l.Decoders)
		if total <= MaxKeyBytes && l.Size <= MaxKeyBytes && l.Padding <= MaxKeyBytes { // cannot overflow
			total += uint64(l.Size) + uint64(l.Padding)
		}
	}
	if total > MaxKeyBytes {
		v.add(p+".labels", "sizes and paddings add up to over %d bytes, want the layout of the map key or record", MaxKeyBytes)
	}
}

func (v *validator) labelName(lp, name string, rules labelRules, bucket bool) {
	switch {
	case name == "":
		v.add(lp+".name", "missing, want a label name")
	case bucket:
		// The bucket label becomes "le", so its name is free.
	case rules.attrs:
		// Span attribute names, such as cpu.orig: any UTF-8 text.
		if !utf8.ValidString(name) {
			v.add(lp+".name", "%q is not valid UTF-8, want a span attribute name", name)
		}
	case !validLabelName(name):
		v.add(lp+".name", "%q is not a valid Prometheus label name, want [a-zA-Z_][a-zA-Z0-9_]* not starting with __", name)
	case name == "le" && rules.bucketAt >= 0:
		v.add(lp+".name", `"le" is the histogram bucket label, rename this one`)
	}
}

func (v *validator) labelSize(lp string, l Label, cpuOK bool) {
	if l.Padding > MaxKeyBytes {
		v.add(lp+".padding", "%d bytes, want at most %d", l.Padding, MaxKeyBytes)
	}
	switch {
	case l.Size > MaxKeyBytes:
		v.add(lp+".size", "%d bytes, want at most %d", l.Size, MaxKeyBytes)
	case l.Size > 0 || l.PerCPU() && cpuOK:
	case l.Name == "cpu":
		v.add(lp+".size", "0 is only allowed for the per-CPU label: the last label of a counter, or the one before the bucket label of a histogram")
	default:
		v.add(lp+".size", "missing or 0, want the number of key bytes this label decodes")
	}
}

// bytesOf checks labels[i], a bytes_of label: it names an earlier label
// that has key bytes (its own, or those of the label it names in turn),
// has no size or padding of its own, and is not a histogram's bucket label.
func (v *validator) bytesOf(lp string, labels []Label, i int, rules labelRules) {
	l := labels[i]
	if l.Size != 0 {
		v.add(lp+".size", "%d given with bytes_of: remove it, the label decodes the bytes of label %q", l.Size, l.BytesOf)
	}
	if l.Padding != 0 {
		v.add(lp+".padding", "%d given with bytes_of: remove it, the label takes no key bytes of its own", l.Padding)
	}
	if i == rules.bucketAt {
		v.add(lp+".bytes_of", "the bucket label needs key bytes of its own: remove bytes_of and give its size")
		return
	}
	j := slices.IndexFunc(labels, func(o Label) bool { return o.Name == l.BytesOf })
	earlier := make([]string, 0, i)
	for _, o := range labels[:i] {
		earlier = append(earlier, o.Name)
	}
	switch {
	case j == i:
		v.add(lp+".bytes_of", "%q is this label itself, want the name of an earlier label (%s)", l.BytesOf, orNone(earlier))
	case j < 0:
		v.add(lp+".bytes_of", "no label %q in this metric, want the name of an earlier label (%s)", l.BytesOf, orNone(earlier))
	case j > i:
		v.add(lp+".bytes_of", "label %q is labels[%d], after this one: move this label below it", l.BytesOf, j)
	case labels[j].PerCPU():
		v.add(lp+".bytes_of", "label %q is the per-CPU label, which has no key bytes: name a label with a size", l.BytesOf)
	}
}

// orNone joins names with ", ", or says there are none.
func orNone(names []string) string {
	if len(names) == 0 {
		return "there is none: bytes_of labels come after the label they name"
	}
	return strings.Join(names, ", ")
}

func (v *validator) decoders(lp string, decoders []Decoder) {
	if len(decoders) == 0 {
		v.add(lp+".decoders", "empty, want at least one decoder, such as {name: uint}")
	}
	for i, d := range decoders {
		v.decoder(fmt.Sprintf("%s.decoders[%d]", lp, i), d)
	}
}

func (v *validator) decoder(dp string, d Decoder) {
	known := DecoderNames()
	switch {
	case d.Name == "":
		v.add(dp+".name", "missing, want one of %s", strings.Join(known, ", "))
		return
	case !slices.Contains(known, d.Name):
		v.add(dp+".name", "unknown %q, want one of %s", d.Name, strings.Join(known, ", "))
		return
	}
	if d.Name == "static_map" && len(d.StaticMap) == 0 {
		v.add(dp+".static_map", "empty, want a mapping of input to label value")
	}
	if d.Name != "static_map" && d.StaticMap != nil {
		v.add(dp+".static_map", "only used by the static_map decoder, remove it")
	}
	if d.Name != "static_map" && d.AllowUnknown {
		v.add(dp+".allow_unknown", "only used by the static_map decoder, remove it")
	}
	if d.Name == "regexp" {
		v.regexps(dp+".regexps", d.Regexps, "want at least one regexp; label sets matching none are skipped")
	} else if d.Regexps != nil {
		v.add(dp+".regexps", "only used by the regexp decoder, remove it")
	}
	v.kubeOptions(dp, d)
	v.enumOptions(dp, d)
}

// enumOptions checks the options of the btf_enum decoder. Whether the
// kernel has the enum is known only when the config loads.
func (v *validator) enumOptions(dp string, d Decoder) {
	if d.Name != "btf_enum" {
		if d.Enum != "" {
			v.add(dp+".enum", "only used by the btf_enum decoder, remove it")
		}
		if d.StripPrefix != "" {
			v.add(dp+".strip_prefix", "only used by the btf_enum decoder, remove it")
		}
		return
	}
	switch {
	case d.Enum == "":
		v.add(dp+".enum", "missing, want the name of an enum of the kernel's BTF, such as skb_drop_reason")
	case !isCIdentifier(d.Enum):
		v.add(dp+".enum", "%q is not a C identifier, want an enum name such as skb_drop_reason (without \"enum \")", d.Enum)
	}
}

// isCIdentifier reports whether s is a C identifier, such as an enum name.
func isCIdentifier(s string) bool {
	for i, r := range s {
		letter := r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return s != ""
}

// kubeOptions checks the options of the pod and peer_pod decoders.
func (v *validator) kubeOptions(dp string, d Decoder) {
	switch {
	case d.NotPod == "":
	case !slices.Contains(PodDecoders(), d.Name):
		v.add(dp+".not_pod", "only used by the %s decoders, remove it", strings.Join(PodDecoders(), ", "))
	case !slices.Contains([]string{NotPodEmpty, NotPodPath, NotPodSkip}, d.NotPod):
		v.add(dp+".not_pod", "unknown %q, want %s|%s|%s (what a cgroup outside every pod decodes to)", d.NotPod, NotPodEmpty, NotPodPath, NotPodSkip)
	}
	switch {
	case d.UnknownPeer == "":
	case d.Name != "peer_pod":
		v.add(dp+".unknown_peer", "only used by the peer_pod decoder, remove it")
	case !slices.Contains([]string{PeerExternal, PeerIP, PeerSkip}, d.UnknownPeer):
		v.add(dp+".unknown_peer", "unknown %q, want %s|%s|%s (what an address of no known pod or service decodes to)", d.UnknownPeer, PeerExternal, PeerIP, PeerSkip)
	}
}

// regexps checks that exprs is non-empty and that each compiles.
func (v *validator) regexps(p string, exprs []string, want string) {
	if len(exprs) == 0 {
		v.add(p, "empty, %s", want)
	}
	for i, expr := range exprs {
		if _, err := regexp.Compile(expr); err != nil {
			v.add(fmt.Sprintf("%s[%d]", p, i), "%q does not compile: %v; write Go RE2 syntax (a literal ( [ . is \\( \\[ \\.)", expr, err)
		}
	}
}

func (v *validator) kaddrs(kaddrs []string) {
	seen := map[string]string{}
	for i, k := range kaddrs {
		kp := fmt.Sprintf("kaddrs[%d]", i)
		if strings.TrimSpace(k) == "" {
			v.add(kp, "empty, want a kernel symbol name")
			continue
		}
		if first, ok := seen[k]; ok {
			v.add(kp, "%q already listed at %s", k, first)
			continue
		}
		seen[k] = kp
	}
}

func (v *validator) cgroupIDMap(m CgroupIDMap) {
	if m.Name == "" {
		v.add("cgroup_id_map.name", "missing, want the name of the BPF map to fill with cgroup ids")
	}
	if m.Type != CgroupIDMapHash && m.Type != CgroupIDMapCgrpStorage {
		v.add("cgroup_id_map.type", "unknown %q, want %s", m.Type, cgroupTypesWant)
	}
	switch {
	case m.Selector != nil && m.Regexps != nil:
		v.add("cgroup_id_map", "both regexps and selector are set, want exactly one: regexps select cgroups by path, "+
			"selector selects pods by namespace and labels; remove one")
	case m.Selector != nil:
		v.podSelector("cgroup_id_map.selector", m.Selector)
	default:
		v.regexps("cgroup_id_map.regexps", m.Regexps, "want at least one regexp matching cgroup paths, "+
			"or a selector of pods instead (selector: {namespaces, matchLabels, matchExpressions})")
	}
}

func (v *validator) tracing(spans []Span) {
	if len(spans) == 0 {
		v.add("tracing.spans", "empty, want at least one span, or remove tracing")
	}
	ringbufs := map[string]string{}
	for i, s := range spans {
		p := fmt.Sprintf("tracing.spans[%d]", i)
		if s.RingBuf == "" {
			v.add(p+".ringbuf", "missing, want the name of the BPF ring buffer map to read spans from")
		}
		v.unique(ringbufs, p+".ringbuf", s.RingBuf)
		if len(s.Labels) == 0 {
			v.add(p+".labels", "empty, want the record's fields, such as trace_id, span_id and span_duration_ns")
		}
		v.labels(p, s.Labels, labelRules{cpuAt: -1, bucketAt: -1, attrs: true})
	}
}

// validMetricName reports whether s matches [a-zA-Z_:][a-zA-Z0-9_:]*.
func validMetricName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r == ':' || isLetter(r) || i > 0 && isDigit(r)) {
			return false
		}
	}
	return s != ""
}

// validLabelName reports whether s matches [a-zA-Z_][a-zA-Z0-9_]* and is not
// reserved (a __ prefix).
func validLabelName(s string) bool {
	for i, r := range s {
		if !(r == '_' || isLetter(r) || i > 0 && isDigit(r)) {
			return false
		}
	}
	return s != "" && !strings.HasPrefix(s, "__")
}

func isLetter(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }

func isDigit(r rune) bool { return '0' <= r && r <= '9' }
