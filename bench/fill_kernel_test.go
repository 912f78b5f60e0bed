package main

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// TestFillKeys loads each bench object into the kernel and checks that n
// getpid calls of the driver make exactly the keys the config expects,
// and that getpid from any other thread makes none.
func TestFillKeys(t *testing.T) {
	testenv.Privileged(t)
	const n = 1000
	for _, tc := range []struct {
		name, prog, m string
		want          int
	}{
		{"counters", "fill_counters", "bench_counter_total", n},
		{"histograms", "fill_histograms", "bench_latency_seconds", n + n/20}, // buckets, and one sum per label set
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := filepath.Join(t.TempDir(), tc.name+".bpf.o")
			testenv.CompileBPF(t, filepath.Join("bpf", tc.name+".bpf.c"), obj, "-DMAX_ENTRIES=1000")
			spec, err := ebpf.LoadCollectionSpec(obj)
			if err != nil {
				t.Fatal(err)
			}
			coll, err := ebpf.NewCollection(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer coll.Close()
			l, err := link.Tracepoint("syscalls", "sys_enter_getpid", coll.Programs[tc.prog], nil)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			for range 100 {
				syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
			}
			if got := countKeys(t, coll.Maps[tc.m]); got != 0 {
				t.Fatalf("getpid from a thread not named %s made %d keys, want 0", fillComm, got)
			}
			if err := fill(n); err != nil {
				t.Fatal(err)
			}
			if got := countKeys(t, coll.Maps[tc.m]); got != tc.want {
				t.Fatalf("%d driver getpid calls made %d keys in %s, want %d", n, got, tc.m, tc.want)
			}
		})
	}
}

func countKeys(t *testing.T, m *ebpf.Map) int {
	t.Helper()
	var (
		key   []byte
		value uint64
		n     int
	)
	it := m.Iterate()
	for it.Next(&key, &value) {
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterate: %v", err)
	}
	return n
}
