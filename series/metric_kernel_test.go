package series

import (
	"encoding/binary"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// mapMetric exports m, a real kernel map, as a metric of the given labels
// (a histogram when b is set).
func mapMetric(tb testing.TB, m *ebpf.Map, labels []config.Label, b *Buckets) *MapMetric {
	tb.Helper()
	met, err := NewMapMetric(Options{Namespace: "t", Env: decoder.NewEnv()}, "m", "Test map.", labels, nil, b)
	if err != nil {
		tb.Fatal(err)
	}
	if err := met.Bind(m); err != nil {
		tb.Fatal(err)
	}
	return met
}

func newKernelMap(tb testing.TB, typ ebpf.MapType, keySize, entries uint32) *ebpf.Map {
	tb.Helper()
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: typ, KeySize: keySize, ValueSize: 8, MaxEntries: entries})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// groupKey is a key whose group decodes to the label and whose id is
// padding: keys with different ids share the label set, like kstack
// addresses of one function or two cgroup ids of one path.
func groupKey(group, id uint32, bucket ...uint64) []byte {
	k := binary.LittleEndian.AppendUint32(nil, group)
	k = binary.LittleEndian.AppendUint32(k, id)
	for _, b := range bucket {
		k = binary.LittleEndian.AppendUint64(k, b)
	}
	return k
}

var groupLabel = config.Label{Name: "group", Size: 4, Padding: 4, Decoders: []config.Decoder{{Name: "uint"}}}

// scrapeText gathers met and renders it.
func scrapeText(t *testing.T, met *MapMetric) []string {
	t.Helper()
	fam, st, err := met.Gather()
	if err != nil || st.DecodeErrors != 0 {
		t.Fatalf("gather: %v, %d decode errors", err, st.DecodeErrors)
	}
	return render(fam)
}

// TestCounterMonotonicKernel fills and deletes from a real hash map whose
// keys share a label set: the series must never go down while it exists
// (issue 7, item 1).
func TestCounterMonotonicKernel(t *testing.T) {
	testenv.Privileged(t)
	m := newKernelMap(t, ebpf.Hash, 8, 64)
	met := mapMetric(t, m, []config.Label{groupLabel}, nil)
	put := func(id uint32, v uint64) {
		t.Helper()
		if err := m.Put(groupKey(1, id), v); err != nil {
			t.Fatal(err)
		}
	}
	del := func(id uint32) {
		t.Helper()
		if err := m.Delete(groupKey(1, id)); err != nil {
			t.Fatal(err)
		}
	}
	for i, step := range []struct {
		name   string
		change func()
		want   []string
	}{
		{"two keys, one series", func() { put(1, 10); put(2, 5) }, []string{"group=1 15"}},
		{"a key deleted", func() { del(1) }, []string{"group=1 15"}},
		{"the other grows", func() { put(2, 7) }, []string{"group=1 17"}},
		{"deleted and inserted again", func() { del(2); put(2, 1) }, []string{"group=1 18"}},
		{"replaced by a new key", func() { del(2); put(3, 1) }, []string{"group=1 19"}},
		{"every key gone: no series", func() { del(3) }, nil},
		{"back: a new series from 0", func() { put(4, 2) }, []string{"group=1 2"}},
	} {
		step.change()
		if got := scrapeText(t, met); !slices.Equal(got, step.want) {
			t.Errorf("step %d (%s): got %q, want %q", i, step.name, got, step.want)
		}
	}
}

// TestLRUEvictionMonotonicKernel inserts 200 keys of one label set into an
// LRU hash of 16, one per scrape: evictions must not make the series drop.
func TestLRUEvictionMonotonicKernel(t *testing.T) {
	testenv.Privileged(t)
	m := newKernelMap(t, ebpf.LRUHash, 8, 16)
	met := mapMetric(t, m, []config.Label{groupLabel}, nil)
	const n = 200
	last := 0.0
	for id := range uint32(n) {
		if err := m.Put(groupKey(1, id), uint64(1)); err != nil {
			t.Fatal(err)
		}
		got := scrapeText(t, met)
		if len(got) != 1 {
			t.Fatalf("after key %d: %q, want one series", id, got)
		}
		v, err := strconv.ParseFloat(strings.TrimPrefix(got[0], "group=1 "), 64)
		if err != nil {
			t.Fatal(err)
		}
		if v < last {
			t.Fatalf("after key %d: the counter went down from %v to %v", id, last, v)
		}
		last = v
	}
	live := met.entries.Len()
	if len(met.cache) != live || live > 16 {
		t.Errorf("%d keys cached, %d in the map: want the map's at most 16 (memory bounded)", len(met.cache), live)
	}
	t.Logf("after %d keys through an LRU of 16: counter %v (%d keys in the map)", n, last, live)
	if last != n {
		t.Errorf("counter %v, want %d: every key was seen before it was evicted", last, n)
	}
}

// TestHistogramMonotonicKernel does the same for a histogram's buckets,
// count and sum.
func TestHistogramMonotonicKernel(t *testing.T) {
	testenv.Privileged(t)
	m := newKernelMap(t, ebpf.Hash, 16, 64)
	b := mustBuckets(t, config.Histogram{BucketType: config.BucketExp2, BucketMax: 2})
	bucketLabel := config.Label{Name: "bucket", Size: 8, Decoders: []config.Decoder{{Name: "uint"}}}
	met := mapMetric(t, m, []config.Label{groupLabel, bucketLabel}, &b)
	put := func(id uint32, bucket, v uint64) {
		t.Helper()
		if err := m.Put(groupKey(1, id, bucket), v); err != nil {
			t.Fatal(err)
		}
	}
	put(1, 0, 4)
	put(1, 3, 4) // the sum key
	put(2, 2, 1)
	put(2, 3, 3)
	if got, want := scrapeText(t, met), []string{"group=1 count=5 sum=7 1:4 2:4 4:5"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for _, bucket := range []uint64{0, 3} {
		if err := m.Delete(groupKey(1, 1, bucket)); err != nil {
			t.Fatal(err)
		}
	}
	put(2, 2, 2)
	put(2, 3, 7)
	if got, want := scrapeText(t, met), []string{"group=1 count=6 sum=11 1:4 2:4 4:6"}; !slices.Equal(got, want) {
		t.Errorf("after id 1's keys left: got %q, want %q", got, want)
	}
}

// compileTestBPF builds testdata/SRC.bpf.c with include/ and returns its
// collection spec.
func compileTestBPF(t *testing.T, src string) *ebpf.CollectionSpec {
	t.Helper()
	clang, err := exec.LookPath("clang-19")
	if err != nil {
		testenv.Unavailable(t, "clang-19 not installed (make setup installs it)")
	}
	obj := filepath.Join(t.TempDir(), src+".bpf.o")
	out, err := exec.Command(clang, "-target", "bpf", "-O2", "-g", "-mcpu=v3", "-I", "../include", "-I/usr/include/x86_64-linux-gnu",
		"-Wall", "-Werror", "-c", "testdata/"+src+".bpf.c", "-o", obj).CombinedOutput()
	if err != nil {
		t.Fatalf("clang %s: %v\n%s", src, err, out)
	}
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestHistogramHelpersKernel observes values with include/maps.bpf.h's
// helpers in the kernel and exports the maps: the plain helpers clamp
// values above the top bucket into it (linear clamps the sum too, so _sum,
// _count and the buckets agree); the _overflow helpers count them in +Inf
// and _count only, with bucket_overflow (issue 7, item 2).
func TestHistogramHelpersKernel(t *testing.T) {
	testenv.Privileged(t)
	coll, err := ebpf.NewCollection(compileTestBPF(t, "histhelpers"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(coll.Close)
	observe := coll.Programs["observe"]
	bucketLabel := []config.Label{{Name: "bucket", Size: 8, Decoders: []config.Decoder{{Name: "uint"}}}}
	fixed := config.Histogram{BucketType: config.BucketFixed, BucketKeys: []float64{50, 1000}}
	linear := config.Histogram{BucketType: config.BucketLinear, BucketMax: 5, BucketMultiplier: 10}
	exp2 := config.Histogram{BucketType: config.BucketExp2, BucketMax: 3}
	withOverflow := func(h config.Histogram) config.Histogram { h.BucketOverflow = true; return h }
	for i, tc := range []struct {
		name   string
		h      config.Histogram
		values []uint64
		want   string
	}{
		{"fixed_clamp", fixed, []uint64{10, 100, 5000}, " count=3 sum=5110 50:1 1000:3"},
		{"fixed_overflow", withOverflow(fixed), []uint64{10, 100, 5000}, " count=3 sum=5110 50:1 1000:2"},
		{"linear_clamp", linear, []uint64{7, 30, 95}, " count=3 sum=90 0:0 10:1 20:1 30:2 40:2 50:3"},
		{"linear_overflow", withOverflow(linear), []uint64{7, 30, 95}, " count=3 sum=140 0:0 10:1 20:1 30:2 40:2 50:2"},
		{"exp2_overflow", withOverflow(exp2), []uint64{1, 5, 100}, " count=3 sum=106 1:1 2:1 4:1 8:2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range tc.values {
				pkt := make([]byte, 14, 30) // the Ethernet header the program does not see
				pkt = binary.LittleEndian.AppendUint64(pkt, v)
				pkt = binary.LittleEndian.AppendUint32(pkt, uint32(i))
				if _, err := observe.Run(&ebpf.RunOptions{Data: pkt}); err != nil {
					t.Fatal(err)
				}
			}
			b := mustBuckets(t, tc.h)
			if got := scrapeText(t, mapMetric(t, coll.Maps[tc.name], bucketLabel, &b)); !slices.Equal(got, []string{tc.want}) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
