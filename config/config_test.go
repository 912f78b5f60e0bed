package config

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCorpus loads every testdata/NAME.good.yaml, which must load cleanly,
// and every testdata/NAME.bad.yaml, whose error must contain each substring
// given on a "# want: " comment line.
func TestCorpus(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			cfg, err := Load("testdata", name)
			switch {
			case strings.HasSuffix(name, ".good"):
				if err != nil {
					t.Fatalf("want no error, got:\n%v", err)
				}
				if cfg.Name != name || cfg.Path != path || cfg.BPFPath != "testdata/"+name+".bpf.o" {
					t.Errorf("Name, Path, BPFPath = %q, %q, %q", cfg.Name, cfg.Path, cfg.BPFPath)
				}
			case strings.HasSuffix(name, ".bad"):
				checkWants(t, path, err)
			default:
				t.Fatalf("name testdata files NAME.good.yaml or NAME.bad.yaml")
			}
		})
	}
}

// checkWants checks err against the "# want: " lines of path.
func checkWants(t *testing.T, path string, err error) {
	t.Helper()
	wants := wantLines(t, path)
	if len(wants) == 0 {
		t.Fatalf("%s has no \"# want: \" line", path)
	}
	if err == nil {
		t.Fatalf("want an error, got none")
	}
	var cfgErr *Error
	if !errors.As(err, &cfgErr) {
		t.Errorf("want an *Error inside, got %T", err)
	}
	for _, want := range wants {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q; got:\n%v", want, err)
		}
	}
}

func wantLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wants []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if want, ok := strings.CutPrefix(s.Text(), "# want: "); ok {
			wants = append(wants, want)
		}
	}
	return wants
}

func TestErrorsOnePerLine(t *testing.T) {
	_, err := Load("testdata", "many-errors.bad")
	if got := strings.Count(err.Error(), "\n") + 1; got != 6 {
		t.Errorf("want 6 errors, one per line, got %d:\n%v", got, err)
	}
	for line := range strings.SplitSeq(err.Error(), "\n") {
		if !strings.HasPrefix(line, "testdata/many-errors.bad.yaml: ") {
			t.Errorf("error does not start with the file: %q", line)
		}
	}
}

func TestOneErrorForNamelessDecoder(t *testing.T) {
	_, err := Load("testdata", "decoder-noise.bad")
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("want exactly one error, got:\n%v", err)
	}
}

func TestDefaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(*Config) bool
	}{
		{"histogram-linear.good", func(c *Config) bool { return c.Metrics.Histograms[0].BucketMultiplier == 1 }},
		{"histogram-exp2.good", func(c *Config) bool { return c.Metrics.Histograms[0].BucketMultiplier == 0.000001 }},
		{"perf-event-array.good", func(c *Config) bool {
			ctrs := c.Metrics.Counters
			return ctrs[0].FlushInterval == time.Minute && ctrs[1].FlushInterval == DefaultFlushInterval
		}},
		{"counter-ksym.good", func(c *Config) bool { return c.Metrics.Counters[0].FlushInterval == 0 }},
		{"cgroup-id-map.good", func(c *Config) bool { return c.CgroupIDMap.Type == CgroupIDMapHash }},
		{"cgroup-id-map-storage.good", func(c *Config) bool { return c.CgroupIDMap.Type == CgroupIDMapCgrpStorage }},
		{"tracing.good", func(c *Config) bool {
			s := c.Tracing.Spans
			return s[0].Name == "exec" && s[1].Name == "exit_spans" && s[1].Service == ""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load("testdata", tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(cfg) {
				t.Errorf("defaults not applied: %+v", cfg)
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", "\n\n", "# just a comment\n"} {
		_, err := Parse(strings.NewReader(in), "x.yaml")
		if err == nil || err.Error() != "x.yaml: empty file, want a metrics: or tracing: section" {
			t.Errorf("Parse(%q) = %v", in, err)
		}
	}
}

func TestParseSetsNames(t *testing.T) {
	cfg, err := Parse(strings.NewReader("metrics: {}"), "/etc/ebpfmon/biolatency.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "biolatency" || cfg.BPFPath != "/etc/ebpfmon/biolatency.bpf.o" {
		t.Errorf("Name %q BPFPath %q", cfg.Name, cfg.BPFPath)
	}
}

func TestLabelHelpers(t *testing.T) {
	labels := []Label{{Name: "op", Size: 1, Padding: 3}, {Name: "cpu"}, {Name: "bucket", Size: 8}}
	if got := KeySize(labels); got != 12 {
		t.Errorf("KeySize = %d, want 12", got)
	}
	if !labels[1].PerCPU() || labels[0].PerCPU() || (Label{Name: "cpu", Size: 2}).PerCPU() {
		t.Error("PerCPU: want true only for cpu with size 0")
	}
}

func TestNames(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"timers.yaml", "biolatency.yaml", "a-b.yaml", "a.yaml", "biolatency.bpf.o",
		"README.md", "notes.yml", ".hidden.yaml", "timers.yaml.bak"} {
		writeFile(t, filepath.Join(dir, f), "")
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Names(dir)
	if err != nil {
		t.Fatal(err)
	}
	// dir.yaml is listed: loading it fails saying it is a directory, rather
	// than the config vanishing (on a reload, being closed as removed).
	if want := []string{"a", "a-b", "biolatency", "dir", "timers"}; !slices.Equal(got, want) {
		t.Errorf("Names = %q, want %q", got, want)
	}
}

func TestNamesErrors(t *testing.T) {
	if _, err := Names(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no NAME.yaml files in") {
		t.Errorf("empty dir: %v", err)
	}
	if _, err := Names(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
}

// TestNamesBadNames checks that a NAME.yaml whose NAME cannot be a label
// value fails the listing, naming every such file.
func TestNamesBadNames(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  []string
	}{
		{"invalid UTF-8", []string{"ok.yaml", "bad\xff.yaml"},
			[]string{`list configs: "DIR/bad\xff.yaml": name is not valid UTF-8 (it becomes a metric label value), rename the file`}},
		{"control character", []string{"tab\there.yaml"}, []string{`"DIR/tab\there.yaml": name has a control character`}},
		{"every bad file named", []string{"a\xfe.yaml", "b\x01.yaml", "c.yaml"}, []string{`"DIR/a\xfe.yaml": name is not valid UTF-8`, `"DIR/b\x01.yaml": name has a control character`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tt.files {
				writeFile(t, filepath.Join(dir, f), "")
			}
			names, err := Names(dir)
			if err == nil {
				t.Fatalf("Names = %q, want an error", names)
			}
			for _, want := range tt.want {
				if want = strings.ReplaceAll(want, "DIR", dir); !strings.Contains(err.Error(), want) {
					t.Errorf("Names error:\n%v\nwant it to contain %s", err, want)
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"nope", `config "nope": testdata/nope.yaml: no such file (want NAME.yaml in the config directory)`},
		{"", "config name is empty"},
		{"timers.yaml", `config "timers.yaml": give the name without .yaml`},
		{"../config/testdata/x", `config "../config/testdata/x": want a file name, not a path`},
		{"bad\xff", `config "bad\xff": name is not valid UTF-8 (it becomes a metric label value), rename the file`},
		{"new\nline", `config "new\nline": name has a control character (it becomes a metric label value), rename the file`},
	} {
		_, err := Load("testdata", tc.name)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Load(%q) = %v, want %s", tc.name, err, tc.want)
		}
	}
	if _, err := Load("testdata", "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("want fs.ErrNotExist, got %v", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
