package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestBucketCap checks that one cap on the number of buckets holds for
// every bucket type, at the cap and one past it.
func TestBucketCap(t *testing.T) {
	keys := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprint(i)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	for _, tc := range []struct {
		name, fields string
		want         string // "" for valid
	}{
		{"fixed at the cap", "bucket_type: fixed, bucket_keys: " + keys(MaxBuckets), ""},
		{"fixed over the cap", "bucket_type: fixed, bucket_keys: " + keys(MaxBuckets+1), "bucket_keys: 10001 keys, want at most 10000 buckets"},
		{"linear at the cap", fmt.Sprintf("bucket_type: linear, bucket_min: 5, bucket_max: %d", 5+MaxBuckets-1), ""},
		{"linear over the cap", fmt.Sprintf("bucket_type: linear, bucket_min: 5, bucket_max: %d", 5+MaxBuckets), "makes 10001 buckets"},
		{"exp2 at its limit", "bucket_type: exp2, bucket_max: 63", ""},
		{"exp2zero at its limit", "bucket_type: exp2zero, bucket_max: 64", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := fmt.Sprintf("metrics:\n  histograms:\n    - {name: h, help: H, %s, labels: [{name: bucket, size: 8, decoders: [{name: uint}]}]}\n", tc.fields)
			cfg, err := Parse(strings.NewReader(yaml), "x.yaml")
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			case err == nil:
				if l, err := cfg.Metrics.Histograms[0].BucketLayout(); err != nil || len(l.Keys) > MaxBuckets {
					t.Errorf("BucketLayout: %d keys, %v", len(l.Keys), err)
				}
			}
		})
	}
}

// TestSpanAttributeNames checks span label names: free text such as
// cpu.orig, but not empty, invalid UTF-8 or given twice.
func TestSpanAttributeNames(t *testing.T) {
	span := func(names ...string) *Config {
		s := Span{RingBuf: "spans"}
		for _, n := range names {
			s.Labels = append(s.Labels, Label{Name: n, Size: 4, Decoders: []Decoder{{Name: "uint"}}})
		}
		return &Config{Path: "x.yaml", Tracing: &Tracing{Spans: []Span{s}}}
	}
	for _, tc := range []struct {
		name  string
		names []string
		want  string // "" for valid
	}{
		{"dots and dashes", []string{"trace_id", "cpu.orig", "net.peer-name", "名前"}, ""},
		{"empty", []string{"trace_id", ""}, `tracing.spans[0].labels[1].name: missing`},
		{"invalid UTF-8", []string{"cpu\xff"}, `tracing.spans[0].labels[0].name: "cpu\xff" is not valid UTF-8, want a span attribute name`},
		{"twice", []string{"cpu.orig", "cpu.orig"}, `tracing.spans[0].labels[1].name: "cpu.orig" already used by tracing.spans[0].labels[0]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := span(tc.names...).Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

// TestSeriesNames checks what a counter and a histogram export.
func TestSeriesNames(t *testing.T) {
	if got := strings.Join(SeriesNames("x", true), " "); got != "x x_bucket x_sum x_count" {
		t.Errorf("histogram: %s", got)
	}
	if got := strings.Join(SeriesNames("x", false), " "); got != "x" {
		t.Errorf("counter: %s", got)
	}
}
