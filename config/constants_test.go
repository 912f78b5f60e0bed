package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestConstantValues checks each YAML scalar becomes the Go value package
// lifecycle converts: negative integers int64, others uint64, bools,
// strings; in file order with their lines.
func TestConstantValues(t *testing.T) {
	cfg, err := Load("testdata", "constants.good")
	if err != nil {
		t.Fatal(err)
	}
	want := Constants{
		{"min_latency_ns", uint64(10000), 7},
		{"port", uint64(443), 8},
		{"offset", int64(-5), 9},
		{"big", uint64(1<<64 - 1), 10},
		{"enabled", true, 11},
		{"comm", "nginx", 12},
		{"mode", "FAST", 13},
	}
	if !reflect.DeepEqual(cfg.Constants, want) {
		t.Errorf("Constants = %#v\nwant %#v", cfg.Constants, want)
	}
}

func TestConstantsEmpty(t *testing.T) {
	for _, in := range []string{"constants:\n", "constants: {}\n", ""} {
		cfg, err := Parse(strings.NewReader("metrics: {}\n"+in), "x.yaml")
		if err != nil || len(cfg.Constants) != 0 {
			t.Errorf("%q: %v, %v", in, cfg, err)
		}
	}
}
