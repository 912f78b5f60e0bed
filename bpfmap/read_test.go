package bpfmap

import (
	"encoding/binary"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

func TestEntriesAddGrow(t *testing.T) {
	e := NewEntries(3, 2)
	for i := range 1000 {
		e.Add([]byte{byte(i), byte(i >> 8), 7}, []uint64{uint64(i), 1})
	}
	if e.Len() != 1000 {
		t.Fatalf("Len = %d, want 1000", e.Len())
	}
	for i := range 1000 {
		k := e.Key(i)
		if int(k[0])|int(k[1])<<8 != i || k[2] != 7 {
			t.Fatalf("key %d = %v", i, k)
		}
		if v := e.Values(i); v[0] != uint64(i) || v[1] != 1 {
			t.Fatalf("values %d = %v", i, v)
		}
	}
}

func newMap(t *testing.T, typ ebpf.MapType, keySize uint32, entries uint32) *ebpf.Map {
	t.Helper()
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: typ, KeySize: keySize, ValueSize: 8, MaxEntries: entries})
	if err != nil {
		t.Fatalf("create %s map: %v", typ, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestReadRealMaps fills real kernel maps and reads them back with batch
// lookups and with the iterator fallback.
func TestReadRealMaps(t *testing.T) {
	testenv.Privileged(t)
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typ  ebpf.MapType
		n    int
		size uint32
	}{
		{ebpf.Hash, 10000, 12},
		{ebpf.LRUHash, 100, 4},
		{ebpf.Array, 5000, 4},
		{ebpf.PerCPUHash, 5000, 8},
		{ebpf.PerCPUArray, 64, 4},
		{ebpf.LRUCPUHash, 100, 16},
	} {
		for _, batch := range []bool{true, false} {
			name := tc.typ.String()
			if !batch {
				name += "/iterate"
			}
			t.Run(name, func(t *testing.T) {
				capacity := tc.n
				if tc.typ == ebpf.LRUHash || tc.typ == ebpf.LRUCPUHash {
					capacity *= 4 // LRU maps may evict before they are full
				}
				m := newMap(t, tc.typ, tc.size, uint32(capacity))
				fillMap(t, m, tc.n, tc.size, cpus)
				r, err := NewReader(m)
				if err != nil {
					t.Fatal(err)
				}
				r.noBatch.Store(!batch)
				e := r.NewEntries()
				for range 2 { // a second read reuses the buffers
					if err := r.Read(e); err != nil {
						t.Fatal(err)
					}
					checkEntries(t, e, tc.n, cpus)
				}
			})
		}
	}
}

// fillMap stores key i (little-endian in the first 4 bytes) with value i+1
// on every CPU (per-CPU maps: value i+1+cpu).
func fillMap(t *testing.T, m *ebpf.Map, n int, size uint32, cpus int) {
	t.Helper()
	perCPU := PerCPU(m.Type())
	for i := range n {
		key := make([]byte, size)
		binary.LittleEndian.PutUint32(key, uint32(i))
		var err error
		if perCPU {
			vals := make([]uint64, cpus)
			for c := range vals {
				vals[c] = uint64(i + 1 + c)
			}
			err = m.Put(key, vals)
		} else {
			err = m.Put(key, uint64(i+1))
		}
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
}

func checkEntries(t *testing.T, e *Entries, n, cpus int) {
	t.Helper()
	if e.Len() != n {
		t.Fatalf("read %d entries, want %d", e.Len(), n)
	}
	seen := make([]bool, n)
	for i := range e.Len() {
		k := int(binary.LittleEndian.Uint32(e.Key(i)))
		if k >= n || seen[k] {
			t.Fatalf("bad or repeated key %d", k)
		}
		seen[k] = true
		vals := e.Values(i)
		for c, v := range vals {
			want := uint64(k + 1)
			if len(vals) > 1 {
				want += uint64(c)
			}
			if v != want {
				t.Fatalf("key %d cpu %d: value %d, want %d (cpus %d)", k, c, v, want, cpus)
			}
		}
	}
}

func TestReaderRejectsNonU64(t *testing.T) {
	testenv.Privileged(t)
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := NewReader(m); err == nil {
		t.Fatal("NewReader accepted a 4-byte value")
	}
}
