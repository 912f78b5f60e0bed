package config

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse and Validate: they may reject the
// input but must not panic, and every problem must come back as an error.
// What Validate accepts must be cheap to build: at most MaxBuckets buckets
// per histogram.
func FuzzParse(f *testing.F) {
	paths, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			if cfg != nil {
				t.Fatal("Parse returned a config and an error")
			}
			return
		}
		if cfg.Validate() != nil {
			return
		}
		for i, h := range cfg.Metrics.Histograms {
			l, err := h.BucketLayout()
			if err != nil || len(l.Keys) > MaxBuckets {
				t.Fatalf("histograms[%d] passed Validate but BucketLayout gives %d keys, %v", i, len(l.Keys), err)
			}
		}
	})
}
