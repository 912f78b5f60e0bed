package kallsyms

import (
	"bytes"
	"errors"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestLookup(t *testing.T) {
	tab := New("testdata/kallsyms")
	tests := []struct {
		name    string
		addr    uint64
		want    Symbol
		wantErr error
	}{
		{"below first symbol", 0xffffffff80ffffff, Symbol{}, ErrNotFound},
		{"zero", 0, Symbol{}, ErrNotFound},
		{"duplicate address picks first in file", 0xffffffff81000000, Symbol{"_stext", 0xffffffff81000000, 0}, nil},
		{"exact", 0xffffffff81000100, Symbol{"start_kernel", 0xffffffff81000100, 0}, nil},
		{"inside", 0xffffffff81000123, Symbol{"start_kernel", 0xffffffff81000100, 0x23}, nil},
		{"unsorted input line", 0xffffffff81000810, Symbol{"schedule", 0xffffffff81000800, 0x10}, nil},
		{"module symbol drops suffix", 0xffffffffc0001004, Symbol{"fake_mod_init", 0xffffffffc0001000, 4}, nil},
		{"past last symbol", ^uint64(0), Symbol{"ext4_fake_module_fn", 0xffffffffc0002000, ^uint64(0) - 0xffffffffc0002000}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tab.Lookup(tt.addr)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Lookup(0x%x) error = %v, want %v", tt.addr, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Lookup(0x%x) = %+v, want %+v", tt.addr, got, tt.want)
			}
		})
	}
	if n, err := tab.Len(); err != nil || n != 9 {
		t.Errorf("Len() = %d, %v; want 9, nil", n, err)
	}
}

func TestAddress(t *testing.T) {
	tab := New("testdata/kallsyms")
	tests := []struct {
		name    string
		sym     string
		want    uint64
		wantErr error
	}{
		{"kernel symbol", "vfs_write", 0xffffffff81001400, nil},
		{"module symbol", "fake_mod_init", 0xffffffffc0001000, nil},
		{"unknown", "no_such_symbol", 0, ErrNotFound},
		{"module suffix is not part of the name", "fake_mod_init\t[fakemod]", 0, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tab.Address(tt.sym)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("Address(%q) = 0x%x, %v; want 0x%x, %v", tt.sym, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		wantIs   error
		wantText string
	}{
		{"hidden addresses", "testdata/kallsyms.hidden", ErrAddressesHidden, "need CAP_SYSLOG"},
		{"missing file names the path", "testdata/does-not-exist", os.ErrNotExist, "testdata/does-not-exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := New(tt.path)
			_, err := tab.Lookup(0xffffffff81000000)
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("Lookup error = %v, want %v containing %q", err, tt.wantIs, tt.wantText)
			}
			if _, err2 := tab.Address("x"); !errors.Is(err2, tt.wantIs) {
				t.Errorf("Address error = %v, want the same load error", err2)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"missing name", "ffffffff81000000 T\n"},
		{"bad hex", "ffffffffzz000000 T foo\n"},
		{"address too long", "1ffffffff81000000 T foo\n"},
		{"empty name", "ffffffff81000000 T \t[mod]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(strings.NewReader(tt.in)); err == nil || !strings.Contains(err.Error(), "line 1") {
				t.Errorf("Parse(%q) error = %v, want a line 1 error", tt.in, err)
			}
		})
	}
	t.Run("blank lines and no trailing newline", func(t *testing.T) {
		tab, err := Parse(strings.NewReader("\nffffffff81000000 T a\n\nffffffff81000010 T b"))
		if err != nil {
			t.Fatal(err)
		}
		if s, err := tab.Lookup(0xffffffff81000011); err != nil || s.Name != "b" {
			t.Errorf("Lookup = %+v, %v; want b", s, err)
		}
	})
	t.Run("empty table", func(t *testing.T) {
		tab, err := Parse(strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tab.Lookup(1); !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup on empty table error = %v, want ErrNotFound", err)
		}
	})
}

func TestRealKallsyms(t *testing.T) {
	testenv.Root(t)
	tab := New(DefaultPath)
	n, err := tab.Len()
	if err != nil {
		t.Fatalf("loading %s: %v", DefaultPath, err)
	}
	if n < 1000 {
		t.Fatalf("only %d symbols in %s", n, DefaultPath)
	}
	for _, name := range []string{"vfs_read", "schedule"} {
		addr, err := tab.Address(name)
		if err != nil {
			t.Fatalf("Address(%q): %v", name, err)
		}
		sym, err := tab.Lookup(addr + 1)
		if err != nil || sym.Addr != addr || sym.Offset != 1 {
			t.Errorf("Lookup(Address(%q)+1) = %+v, %v", name, sym, err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(DefaultPath)
	if err != nil {
		b.Skipf("skipping: %v", err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var tab *Table
	for b.Loop() {
		tab, err = Parse(bytes.NewReader(data))
		if errors.Is(err, ErrAddressesHidden) {
			b.Skip("skipping: kallsyms addresses are hidden (need root)")
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	n, _ := tab.Len()
	b.ReportMetric(float64(n), "symbols")
}

func BenchmarkLookup(b *testing.B) {
	tab := New(DefaultPath)
	first, err := tab.Address("_stext")
	if err != nil {
		b.Skipf("skipping: %v", err)
	}
	b.ReportAllocs()
	addr := first
	for b.Loop() {
		if _, err := tab.Lookup(addr); err != nil {
			b.Fatal(err)
		}
		addr += 0x1234f
		if addr > first+0x2000000 {
			addr = first
		}
	}
}

// TestMemory reports the heap cost of a loaded real table; it never fails on
// the figure, only on load errors. Run with -v to see it.
func TestMemory(t *testing.T) {
	testenv.Root(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	tab := New(DefaultPath)
	n, err := tab.Len()
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("%d symbols parsed in %v; retained heap %.1f MiB (%.1f bytes/symbol)",
		n, elapsed, float64(after.HeapAlloc-before.HeapAlloc)/(1<<20),
		float64(after.HeapAlloc-before.HeapAlloc)/float64(n))
	runtime.KeepAlive(tab)
}
