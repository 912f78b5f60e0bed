package config

import (
	"fmt"
	"strings"
	"testing"
)

// staticMapConfig is a counter whose label maps n numbers through a
// static_map, plus extra lines appended to the map.
func staticMapConfig(n int, extra string) string {
	var b strings.Builder
	b.WriteString(`metrics:
  counters:
    - name: x_total
      help: x
      labels:
        - name: v
          size: 4
          decoders:
            - name: uint
            - name: static_map
              static_map:
`)
	for i := range n {
		fmt.Fprintf(&b, "                %d: value%d\n", i, i)
	}
	b.WriteString(extra)
	return b.String()
}

func TestStaticMap(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    map[string]string
		wantErr string
	}{
		{name: "ints, strings, null", yaml: staticMapConfig(2, "                \"x\": ~\n                0x10: '16'\n"),
			want: map[string]string{"0": "value0", "1": "value1", "x": "", "0x10": "16"}},
		{name: "anchor value", yaml: staticMapConfig(0, "                a: &v shared\n                b: *v\n"),
			want: map[string]string{"a": "shared", "b": "shared"}},
		{name: "duplicate key", yaml: staticMapConfig(3, "                1: again\n"),
			wantErr: `:15: static_map key "1" already defined at line 13`},
		{name: "sequence value", yaml: staticMapConfig(1, "                2: [a]\n"),
			wantErr: ":13: static_map: want scalar keys and values, got a sequence"},
		{name: "not a mapping", yaml: strings.Replace(staticMapConfig(0, ""), "static_map:\n", "static_map: [a, b]\n", 1),
			wantErr: ":11: static_map: want a mapping of input to label value"},
		{name: "too many entries", yaml: staticMapConfig(MaxStaticMapEntries+1, ""),
			wantErr: fmt.Sprintf("static_map: %d entries, at most %d", MaxStaticMapEntries+1, MaxStaticMapEntries)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse(strings.NewReader(tt.yaml), "x.yaml")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Metrics.Counters[0].Labels[0].Decoders[1].StaticMap
			if len(got) != len(tt.want) {
				t.Fatalf("static_map = %q, want %q", got, tt.want)
			}
			for k, v := range tt.want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("static_map[%q] = %q, %v; want %q", k, g, ok, v)
				}
			}
		})
	}
}

// BenchmarkStaticMap prints the time to parse and validate a config with a
// static_map of 10k and 100k entries (issue 7 item 12: yaml's duplicate key
// check made it quadratic, 34 s for 100k). It never asserts on time.
func BenchmarkStaticMap(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		data := staticMapConfig(n, "")
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				cfg, err := Parse(strings.NewReader(data), "x.yaml")
				if err != nil {
					b.Fatal(err)
				}
				if err := cfg.Validate(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
