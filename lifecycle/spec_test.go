package lifecycle

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/ebpfmon/ebpfmon/config"
)

func TestCheckSpec(t *testing.T) {
	u8 := func(name string, size uint) config.Label {
		return config.Label{Name: name, Size: size, Decoders: []config.Decoder{{Name: "uint"}}}
	}
	reuse := func(name, of string) config.Label {
		return config.Label{Name: name, BytesOf: of, Decoders: []config.Decoder{{Name: "hex"}}}
	}
	spec := func(maps map[string]*ebpf.MapSpec, section string) *ebpf.CollectionSpec {
		return &ebpf.CollectionSpec{Maps: maps, Programs: map[string]*ebpf.ProgramSpec{"prog": {SectionName: section}}}
	}
	hash := func(key, value uint32) *ebpf.MapSpec {
		return &ebpf.MapSpec{Type: ebpf.Hash, KeySize: key, ValueSize: value}
	}
	counter := func(labels ...config.Label) *config.Config {
		return &config.Config{Path: "x.yaml", BPFPath: "x.bpf.o", Metrics: config.Metrics{Counters: []config.Counter{{Name: "calls", Help: "h", Labels: labels}}}}
	}
	spans := func(ringbufs ...string) *config.Config {
		cfg := &config.Config{Path: "x.yaml", BPFPath: "x.bpf.o", Tracing: &config.Tracing{}}
		for _, r := range ringbufs {
			cfg.Tracing.Spans = append(cfg.Tracing.Spans, config.Span{RingBuf: r, Labels: []config.Label{u8("trace_id", 16)}})
		}
		return cfg
	}
	for _, tc := range []struct {
		name string
		cfg  *config.Config
		spec *ebpf.CollectionSpec
		want []string // substrings of the error; none means success
	}{
		{"ok", counter(u8("a", 4), u8("b", 8)), spec(map[string]*ebpf.MapSpec{"calls": hash(12, 8)}, "tracepoint/a/b"), nil},
		{"padding counts", counter(config.Label{Name: "a", Size: 4, Padding: 4, Decoders: []config.Decoder{{Name: "uint"}}}), spec(map[string]*ebpf.MapSpec{"calls": hash(8, 8)}, "raw_tp/x"), nil},
		{"missing map", counter(u8("a", 4)), spec(map[string]*ebpf.MapSpec{"other": hash(4, 8)}, "raw_tp/x"), []string{`no map named "calls"`, "maps: other"}},
		{"key size", counter(u8("a", 4), u8("b", 2)), spec(map[string]*ebpf.MapSpec{"calls": hash(8, 8)}, "raw_tp/x"), []string{"map key is 8 bytes but the labels' size+padding add up to 6", "a=4+0 b=2+0"}},
		{"value size", counter(u8("a", 4)), spec(map[string]*ebpf.MapSpec{"calls": hash(4, 4)}, "raw_tp/x"), []string{"map value is 4 bytes, want 8"}},
		{"map type", counter(u8("a", 4)), spec(map[string]*ebpf.MapSpec{"calls": {Type: ebpf.RingBuf, KeySize: 4, ValueSize: 8}}, "raw_tp/x"), []string{"map type RingBuf is not supported"}},
		{"cpu label size 0 on per-cpu map", counter(u8("a", 4), config.Label{Name: "cpu"}), spec(map[string]*ebpf.MapSpec{"calls": {Type: ebpf.PerCPUHash, KeySize: 4, ValueSize: 8}}, "raw_tp/x"), nil},
		{"ebpf_exporter cpu label size 2", counter(u8("a", 4), u8("cpu", 2)), spec(map[string]*ebpf.MapSpec{"calls": {Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8}}, "raw_tp/x"), nil},
		{"cpu label needs per-cpu map", counter(u8("a", 4), config.Label{Name: "cpu"}), spec(map[string]*ebpf.MapSpec{"calls": hash(4, 8)}, "raw_tp/x"), []string{`label "cpu" with size 0`}},
		{"unknown section", counter(u8("a", 4)), spec(map[string]*ebpf.MapSpec{"calls": hash(4, 8)}, "socket"), []string{"program prog", `section "socket"`, "unknown section"}},
		{"no labels: one-entry per-cpu array", counter(), spec(map[string]*ebpf.MapSpec{"calls": {Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1}}, "raw_tp/x"), nil},
		{"no labels: one-entry array", counter(), spec(map[string]*ebpf.MapSpec{"calls": {Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}}, "raw_tp/x"), nil},
		{"no labels: hash", counter(), spec(map[string]*ebpf.MapSpec{"calls": {Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1}}, "raw_tp/x"),
			[]string{"metrics.counters[0].labels: empty, so the map must hold one global count", "calls is a Hash with 4-byte keys and max_entries 1: add labels"}},
		{"no labels: larger array", counter(), spec(map[string]*ebpf.MapSpec{"calls": {Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 4}}, "raw_tp/x"), []string{"max_entries 4: add labels"}},
		{"no labels: u64 key", counter(), spec(map[string]*ebpf.MapSpec{"calls": {Type: ebpf.PerCPUArray, KeySize: 8, ValueSize: 8, MaxEntries: 1}}, "raw_tp/x"), []string{"8-byte keys"}},
		{"no labels: value size", counter(), spec(map[string]*ebpf.MapSpec{"calls": {Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1}}, "raw_tp/x"), []string{"map value is 4 bytes, want 8"}},
		{"no labels: missing map", counter(), spec(map[string]*ebpf.MapSpec{"other": hash(4, 8)}, "raw_tp/x"), []string{`no map named "calls"`}},
		{"span ring buffers", spans("events", "missing", "counts"), spec(map[string]*ebpf.MapSpec{"events": {Type: ebpf.RingBuf}, "counts": hash(4, 8)}, "raw_tp/x"),
			[]string{`tracing.spans[1].ringbuf: no map named "missing" in the object (maps: counts, events)`, `tracing.spans[2].ringbuf: map "counts" is a Hash, want a RingBuf`}},
		{"span ring buffer ok", spans("events"), spec(map[string]*ebpf.MapSpec{"events": {Type: ebpf.RingBuf}}, "raw_tp/x"), nil},
		{"bytes_of labels take no key bytes", counter(u8("a", 8), reuse("b", "a"), u8("c", 4), reuse("d", "b")), spec(map[string]*ebpf.MapSpec{"calls": hash(12, 8)}, "raw_tp/x"), nil},
		{"bytes_of in the key layout", counter(u8("a", 8), reuse("b", "a")), spec(map[string]*ebpf.MapSpec{"calls": hash(16, 8)}, "raw_tp/x"), []string{"add up to 8: a=8+0 b=bytes_of(a)"}},
		{"bytes_of label named cpu is no per-CPU label", counter(u8("a", 4), reuse("cpu", "a")), spec(map[string]*ebpf.MapSpec{"calls": {Type: ebpf.PerCPUHash, KeySize: 4, ValueSize: 8}}, "raw_tp/x"), nil},
		{"bytes_of before the per-CPU label", counter(u8("a", 4), reuse("b", "a"), config.Label{Name: "cpu"}), spec(map[string]*ebpf.MapSpec{"calls": {Type: ebpf.PerCPUHash, KeySize: 4, ValueSize: 8}}, "raw_tp/x"), nil},
		{"every problem at once", counter(u8("a", 4)), spec(map[string]*ebpf.MapSpec{"calls": hash(3, 4)}, "lsm/x"), []string{"map value is 4", "map key is 3", `section "lsm/x"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSpec(tc.cfg, tc.spec)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(tc.want, "x.yaml does not match x.bpf.o") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestCheckLostMap(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lost    *ebpf.MapSpec
		wantErr string
	}{
		{"none", nil, ""},
		{"per-CPU array", &ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1}, ""},
		{"array", &ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}, ""},
		{"hash", &ebpf.MapSpec{Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1}, "not a Hash"},
		{"u32 value", &ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 4, MaxEntries: 1}, "4-byte values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &ebpf.CollectionSpec{Maps: map[string]*ebpf.MapSpec{"ev": {Type: ebpf.RingBuf}}}
			if tc.lost != nil {
				spec.Maps["ev_lost"] = tc.lost
			}
			err := checkLostMap(spec, "metrics.counters[0]", "ev")
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) ||
				!strings.Contains(err.Error(), "metrics.counters[0]: map ev_lost") || !strings.Contains(err.Error(), "EVENTS_LOST_MAP(ev)")):
				t.Errorf("err = %v, want it to name the field, the map, %q and the fix", err, tc.wantErr)
			}
		})
	}
}

// TestLayoutOfBytesOf checks that a bytes_of label, even one named cpu in
// the per-CPU label's place, is decoded from the key, not filled with CPU
// numbers.
func TestLayoutOfBytesOf(t *testing.T) {
	m := &ebpf.MapSpec{Type: ebpf.PerCPUHash, KeySize: 4, ValueSize: 8}
	labels := []config.Label{
		{Name: "a", Size: 4, Decoders: []config.Decoder{{Name: "uint"}}},
		{Name: "cpu", BytesOf: "a", Decoders: []config.Decoder{{Name: "uint"}}},
	}
	key, cpu := layoutOf(labels, false, m)
	if cpu != nil || len(key) != 2 {
		t.Errorf("layoutOf = %d key labels, cpu %v; want both labels in the key, no cpu label", len(key), cpu)
	}
	labels = append(labels, config.Label{Name: "cpu2", Decoders: []config.Decoder{{Name: "uint"}}})
	labels[2].Name, labels[1].Name = "cpu", "b"
	if key, cpu := layoutOf(labels, false, m); cpu != &labels[2] || len(key) != 2 {
		t.Errorf("layoutOf = %d key labels, cpu %v; want the last label as cpu", len(key), cpu)
	}
}
