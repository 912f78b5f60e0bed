package exporter

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
	spec := func(maps map[string]*ebpf.MapSpec, section string) *ebpf.CollectionSpec {
		return &ebpf.CollectionSpec{Maps: maps, Programs: map[string]*ebpf.ProgramSpec{"prog": {SectionName: section}}}
	}
	hash := func(key, value uint32) *ebpf.MapSpec {
		return &ebpf.MapSpec{Type: ebpf.Hash, KeySize: key, ValueSize: value}
	}
	counter := func(labels ...config.Label) *config.Config {
		return &config.Config{Path: "x.yaml", BPFPath: "x.bpf.o", Metrics: config.Metrics{Counters: []config.Counter{{Name: "calls", Help: "h", Labels: labels}}}}
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
