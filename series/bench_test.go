package series

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/prometheus/common/expfmt"

	"github.com/ebpfmon/ebpfmon/bpfmap"
	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// benchLabels is a key of (u32 pid, u32 cpu-ish, u64 id): 16 bytes.
var benchLabels = []config.Label{
	{Name: "pid", Size: 4, Decoders: []config.Decoder{{Name: "uint"}}},
	{Name: "slot", Size: 4, Decoders: []config.Decoder{{Name: "uint"}}},
	{Name: "id", Size: 8, Decoders: []config.Decoder{{Name: "hex"}}},
}

// bigMetric returns a counter over a real hash map holding n entries.
func bigMetric(tb testing.TB, n int) *MapMetric {
	tb.Helper()
	testenv.Privileged(tb)
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 16, ValueSize: 8, MaxEntries: uint32(n)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	keys := make([]byte, 16*n)
	values := make([]uint64, n)
	for i := range n {
		binary.LittleEndian.PutUint32(keys[16*i:], uint32(i))
		binary.LittleEndian.PutUint32(keys[16*i+4:], uint32(i%64))
		binary.LittleEndian.PutUint64(keys[16*i+8:], uint64(i)*2654435761)
		values[i] = uint64(i)
	}
	if _, err := m.BatchUpdate(splitKeys(keys, 16), values, nil); err != nil {
		tb.Fatal(err)
	}
	met, err := NewMapMetric(Options{Namespace: "bench", Env: decoder.NewEnv()}, "big", "Benchmark map.", benchLabels, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := met.Bind(m); err != nil {
		tb.Fatal(err)
	}
	return met
}

func splitKeys(b []byte, size int) [][16]byte {
	out := make([][16]byte, len(b)/size)
	for i := range out {
		copy(out[i][:], b[i*size:])
	}
	return out
}

// BenchmarkScrape100k measures a whole warm scrape of a 100k-entry hash
// map as /metrics serves it: batch read, cached label decoding, series and
// text exposition. It reports the body size and the peak RSS.
func BenchmarkScrape100k(b *testing.B) {
	met := bigMetric(b, 100_000)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		fam, _, err := met.Gather()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := expfmt.MetricFamilyToText(&buf, fam); err != nil {
			b.Fatal(err)
		}
	}
	if got := strings.Count(buf.String(), "\nbench_big{"); got != 100_000 {
		b.Fatalf("scrape held %d series, want 100000", got)
	}
	b.ReportMetric(float64(buf.Len())/1e6, "MB-body")
	b.ReportMetric(peakRSSMB(), "MB-peak-rss")
}

// BenchmarkGather100k measures reading and building the series (warm cache).
func BenchmarkGather100k(b *testing.B) {
	met := bigMetric(b, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := met.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGatherCold100k measures a first scrape: every key decoded.
func BenchmarkGatherCold100k(b *testing.B) {
	met := bigMetric(b, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		met.cache = map[string]*decoded{}
		met.slots = slots{ids: map[string]int{}}
		if _, _, err := met.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead100k measures the raw batch read alone.
func BenchmarkRead100k(b *testing.B) {
	met := bigMetric(b, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		if err := met.reader.Read(met.entries); err != nil {
			b.Fatal(err)
		}
	}
	if met.entries.Len() != 100_000 {
		b.Fatalf("read %d entries", met.entries.Len())
	}
}

// peakRSSMB reads VmHWM, the process's peak resident set, in MB.
func peakRSSMB() float64 {
	raw, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkBuild100k measures the transform alone, without the kernel: a
// warm scrape of 100k keys in 1,000 label sets (100 keys each, as kstack
// or cgroup keys share series), from entries already read.
func BenchmarkBuild100k(b *testing.B) {
	const n, sets = 100_000, 1000
	labels := make(benchLabelSet, sets)
	e := bpfmap.NewEntries(4, 1)
	for i := range n {
		e.Add(binary.LittleEndian.AppendUint32(nil, uint32(i)), []uint64{uint64(i)})
	}
	m := &MapMetric{name: "m", fullName: "bench_m", help: "h", names: []string{"k"}, labels: labels,
		cache: map[string]*decoded{}, slots: slots{ids: map[string]int{}}}
	m.build(e) // cold: every key decoded
	b.ReportAllocs()
	for b.Loop() {
		m.build(e)
	}
}

// BenchmarkBuildCapped100k is BenchmarkBuild100k with max_series 100: 900
// of the 1,000 label sets fold into the overflow series. Compare with
// BenchmarkBuild100k for the cost of folding.
func BenchmarkBuildCapped100k(b *testing.B) {
	const n, sets = 100_000, 1000
	labels := make(benchLabelSet, sets)
	e := bpfmap.NewEntries(4, 1)
	for i := range n {
		e.Add(binary.LittleEndian.AppendUint32(nil, uint32(i)), []uint64{uint64(i)})
	}
	m := &MapMetric{name: "m", fullName: "bench_m", help: "h", names: []string{"k"}, labels: labels,
		cache: map[string]*decoded{}, slots: slots{ids: map[string]int{}, max: 100}}
	m.build(e)
	b.ReportAllocs()
	for b.Loop() {
		if fam, _ := m.build(e); len(fam.Metric) != 101 {
			b.Fatalf("%d series, want 101", len(fam.Metric))
		}
	}
}

// benchLabelSet decodes a 4-byte key i to label value i % len.
type benchLabelSet []struct{}

func (l benchLabelSet) Decode(key []byte, out []string) ([]string, error) {
	return append(out, strconv.Itoa(int(binary.LittleEndian.Uint32(key))%len(l))), nil
}

// BenchmarkBuildRefresh100k is BenchmarkBuild100k with every scrape in a new
// refresh period, the worst case: each decodes a quarter of the keys again
// (their labels unchanged). Compare with BenchmarkBuild100k for the cost of
// following decoders whose output changes.
func BenchmarkBuildRefresh100k(b *testing.B) {
	const n, sets = 100_000, 1000
	labels := make(benchLabelSet, sets)
	e := bpfmap.NewEntries(4, 1)
	for i := range n {
		e.Add(binary.LittleEndian.AppendUint32(nil, uint32(i)), []uint64{uint64(i)})
	}
	m := &MapMetric{name: "m", fullName: "bench_m", help: "h", names: []string{"k"}, labels: labels,
		cache: map[string]*decoded{}, slots: slots{ids: map[string]int{}}}
	m.build(e)
	b.ReportAllocs()
	for b.Loop() {
		m.started = m.started.Add(refreshEvery)
		m.build(e)
	}
}
