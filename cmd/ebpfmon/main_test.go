package main

import (
	"slices"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		names []string
		check func(*flags) bool
		err   string
	}{
		{name: "defaults", check: func(f *flags) bool {
			return f.configDir == "examples" && f.listen == ":9435" && f.telemetryPath == "/metrics" && f.namespace == "ebpfmon" && !f.check && !f.strict
		}},
		{name: "comma list", args: []string{"--config.names=timers,syscalls"}, names: []string{"timers", "syscalls"}},
		{name: "repeated and spaced", args: []string{"--config.names=timers", "--config.names", " biolatency , "}, names: []string{"timers", "biolatency"}},
		{name: "ebpf_exporter namespace", args: []string{"--metrics.namespace=ebpf_exporter"}, check: func(f *flags) bool { return f.namespace == "ebpf_exporter" }},
		{name: "bad log level", args: []string{"--log.level=loud"}, err: "log.level"},
		{name: "unknown flag", args: []string{"--config.file=x.yaml"}, err: "unknown long flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseFlags(tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.names != nil && !slices.Equal(f.configNames, tc.names) {
				t.Errorf("names = %q, want %q", f.configNames, tc.names)
			}
			if tc.check != nil && !tc.check(f) {
				t.Errorf("unexpected flags %+v", f)
			}
		})
	}
}

func TestConfigNames(t *testing.T) {
	if _, err := configNames(&flags{configNames: []string{"a", "b", "a"}}); err == nil || !strings.Contains(err.Error(), `"a" given twice`) {
		t.Errorf("duplicate name: err = %v", err)
	}
	got, err := configNames(&flags{configDir: "../../examples"})
	if err != nil || !slices.Contains(got, "timers") || !slices.IsSorted(got) {
		t.Errorf("every config in examples: %v, %v", got, err)
	}
}
