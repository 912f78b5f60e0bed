package exporter

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
)

// TestListConfigs: the list of configs from several sources, and the
// error for a name two sources give, which says where each comes from
// (a name in a names file that is only in an extra dir is not "in both
// directories") and how to fix it.
func TestListConfigs(t *testing.T) {
	bundled, extra, other, empty := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	for _, f := range []string{filepath.Join(bundled, "timers.yaml"), filepath.Join(extra, "custom.yaml"), filepath.Join(other, "custom.yaml")} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	namesFile := filepath.Join(extra, "examples.names")
	writeNames := func(text string) {
		t.Helper()
		if err := os.WriteFile(namesFile, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		names   string
		sources []Source
		want    []string
		err     string
	}{
		{"names file and extra dir", "timers\n", []Source{{Dir: bundled, NamesFile: namesFile}, {Dir: extra}}, []string{"timers", "custom"}, ""},
		{"names file names a custom config", "timers custom\n", []Source{{Dir: bundled, NamesFile: namesFile}, {Dir: extra}},
			nil, `config "custom" is in both ` + bundled + " (named in " + namesFile + ") and " + extra + ": a config may come from one directory only, take it out of " + namesFile + " or rename one of them"},
		{"names flag names a custom config", "", []Source{{Dir: bundled, Names: []string{"custom"}}, {Dir: extra}},
			nil, `config "custom" is in both ` + bundled + " (named in --config.names) and " + extra + ": a config may come from one directory only, rename one of them"},
		{"no configs", "# none\n", []Source{{Dir: bundled, NamesFile: namesFile}, {Dir: empty}},
			nil, "no configs to load: " + namesFile + " names none of " + bundled + ", no NAME.yaml files in " + empty + "; name a config or add one"},
		{"two extra dirs", "", []Source{{Dir: bundled}, {Dir: extra}, {Dir: other}},
			nil, `config "custom" is in both ` + extra + " and " + other + ": a config may come from one directory only, rename one of them"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeNames(tc.names)
			got, _, err := listConfigs(tc.sources)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("listConfigs = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestSourceOf: the hash of a config's files changes with their bytes and
// only with them, and an unreadable file (missing, FIFO, directory)
// hashes apart from every readable one without blocking.
func TestSourceOf(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.RemoveAll(path); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", "metrics: {}\n")
	write("a.bpf.o", "ELF")
	base := sourceOf(dir, "a")
	for _, tc := range []struct {
		name   string
		change func()
		same   bool
	}{
		{"unchanged", func() {}, true},
		{"rewritten with the same bytes", func() { write("a.yaml", "metrics: {}\n") }, true},
		{"yaml changed", func() { write("a.yaml", "metrics: {}\n#\n") }, false},
		{"object changed", func() { write("a.bpf.o", "ELF2") }, false},
		{"bytes moved from one file to the other", func() { write("a.yaml", "metrics: {}\nE"); write("a.bpf.o", "LF") }, false},
		{"object missing", func() { os.Remove(filepath.Join(dir, "a.bpf.o")) }, false},
		{"object a directory", func() { os.Remove(filepath.Join(dir, "a.bpf.o")); os.Mkdir(filepath.Join(dir, "a.bpf.o"), 0o755) }, false},
		{"yaml a FIFO", func() { os.Remove(filepath.Join(dir, "a.yaml")); syscall.Mkfifo(filepath.Join(dir, "a.yaml"), 0o644) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write("a.yaml", "metrics: {}\n")
			write("a.bpf.o", "ELF")
			tc.change()
			if got := sourceOf(dir, "a") == base; got != tc.same {
				t.Errorf("same hash = %v, want %v", got, tc.same)
			}
		})
	}
}

// TestSourceOfStreams: hashing a large object at a reload does not read
// it into memory (an unchanged 200 MiB object took 400 MiB at every
// reload, and kept the process's RSS there).
func TestSourceOfStreams(t *testing.T) {
	dir := t.TempDir()
	const size = 64 << 20
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("metrics: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "a.bpf.o"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil { // sparse: reads as zeros
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sourceOf(dir, "a")
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/16 {
		t.Errorf("hashing a %d MiB object allocated %d MiB, want it streamed", size>>20, alloc>>20)
	}
}
