package attach

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, s := range []string{"tracepoint/sched/sched_switch", "tp/a/b", "raw_tp/sys_enter", "raw_tracepoint/x", "tp_btf/sched_switch",
		"fentry/f", "fexit/f", "kprobe/f", "kretprobe/f", "uprobe/libc.so.6:malloc", "uretprobe//bin/sh:main", "perf_event/type=1,config=0,frequency=99", "xdp/lo",
		"cgroup_skb/ingress", "cgroup_skb/egress"} {
		if err := Check(s); err != nil {
			t.Errorf("Check(%q): %v", s, err)
		}
	}
	for _, s := range []string{"socket", "xdp", "lsm/file_open", "tracepoint/", "kprobe", "cgroup_skb", "cgroup_skb/"} {
		if err := Check(s); !errors.Is(err, ErrUnknownSection) {
			t.Errorf("Check(%q) = %v, want ErrUnknownSection", s, err)
		}
	}
	// Known kinds whose target does not parse are caught before loading.
	for _, s := range []string{"tracepoint/sched_switch", "tp/a/", "kprobe/f+zz", "uprobe/libc.so.6", "uretprobe/:f",
		"perf_event/type=1", "perf_event/type=1,config=0,frequency=1,sample_period=2", "perf_event/type=4294967296,config=0,frequency=1",
		"cgroup_skb/sock_create", "cgroup_skb/ingress/x"} {
		if err := Check(s); err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("Check(%q) = %v, want an error naming the section", s, err)
		}
	}
}

func TestParsePerfEvent(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want perfEventSpec
		ok   bool
	}{
		{"type=1,config=0,frequency=99", perfEventSpec{Type: 1, Frequency: 99}, true},
		{"type=0,config=0x1,sample_period=100000", perfEventSpec{Config: 1, SamplePeriod: 100000}, true},
		{"type=1,config=0", perfEventSpec{}, false},
		{"type=1,config=0,frequency=1,sample_period=2", perfEventSpec{}, false},
		{"type=1,frequency=1", perfEventSpec{}, false},
		{"type=1,config=0,freq=1", perfEventSpec{}, false},
		{"type=x,config=0,frequency=1", perfEventSpec{}, false},
		{"type", perfEventSpec{}, false},
	} {
		got, err := parsePerfEvent(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parsePerfEvent(%q) = %+v, %v; want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseCPUList(t *testing.T) {
	for in, want := range map[string][]int{"0": {0}, "0-3": {0, 1, 2, 3}, "0-1,4,6-7": {0, 1, 4, 6, 7}} {
		got, err := parseCPUList(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("parseCPUList(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "a", "3-1", "1-"} {
		if _, err := parseCPUList(in); err == nil {
			t.Errorf("parseCPUList(%q) succeeded", in)
		}
	}
}

func TestParseUprobe(t *testing.T) {
	path, sym, off, err := parseUprobe("libc.so.6:getpid+0x10")
	if err != nil || path != "libc.so.6" || sym != "getpid" || off != 16 {
		t.Errorf("got %q %q %d %v", path, sym, off, err)
	}
	for _, bad := range []string{"libc.so.6", ":malloc", "libc.so.6:", "libc.so.6:f+zz"} {
		if _, _, _, err := parseUprobe(bad); err == nil {
			t.Errorf("parseUprobe(%q) succeeded", bad)
		}
	}
}

func TestResolveLibrary(t *testing.T) {
	root := t.TempDir()
	lib := filepath.Join(root, "usr/lib/custom")
	must(t, os.MkdirAll(lib, 0o755))
	must(t, os.MkdirAll(filepath.Join(root, "etc/ld.so.conf.d"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "etc/ld.so.conf"), []byte("include /etc/ld.so.conf.d/*.conf\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "etc/ld.so.conf.d/x.conf"), []byte("# comment\n/usr/lib/custom\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(lib, "libfoo.so.1"), nil, 0o644))

	dirs := libraryDirs(root)
	if dirs[0] != lib {
		t.Fatalf("first dir = %q, want %q (from ld.so.conf include)", dirs[0], lib)
	}
	got, err := resolveLibrary("libfoo.so.1", dirs)
	if err != nil || got != filepath.Join(lib, "libfoo.so.1") {
		t.Errorf("resolveLibrary = %q, %v", got, err)
	}
	if _, err := resolveLibrary("libnope.so", dirs); err == nil {
		t.Error("found a library that does not exist")
	}
	if got, _ := resolveLibrary("/abs/libx.so", dirs); got != "/abs/libx.so" {
		t.Errorf("absolute path changed to %q", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
