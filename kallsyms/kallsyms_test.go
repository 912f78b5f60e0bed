package kallsyms

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/ebpfmon/ebpfmon/caps"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
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
		{"duplicate address picks first in file", 0xffffffff81000000, Symbol{"_stext", "", 0xffffffff81000000, 0}, nil},
		{"exact", 0xffffffff81000100, Symbol{"start_kernel", "", 0xffffffff81000100, 0}, nil},
		{"inside", 0xffffffff81000123, Symbol{"start_kernel", "", 0xffffffff81000100, 0x23}, nil},
		{"unsorted input line", 0xffffffff81000810, Symbol{"schedule", "", 0xffffffff81000800, 0x10}, nil},
		{"module symbol drops suffix", 0xffffffffc0001004, Symbol{"fake_mod_init", "fakemod", 0xffffffffc0001000, 4}, nil},
		{"past last symbol", ^uint64(0), Symbol{}, ErrNotFound},
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

// boundsKallsyms is a synthetic table with a core kernel (text, then
// data), a module with a range in boundsModules, BPF JIT code and an
// ftrace trampoline, as in /proc/kallsyms (unsorted across regions).
const boundsKallsyms = `ffffffff81000000 T _stext
ffffffff81000100 T start_kernel
ffffffff81001000 T vfs_read
ffffffff81002000 R __start_rodata
ffffffff81003000 D some_data
ffffffffc0001000 t mod_a_fn	[moda]
ffffffffc0001100 t mod_a_last	[moda]
ffffffffc0500000 t mod_b_fn	[modb]
ffffffffc0010000 t bpf_prog_aaaa_x	[bpf]
ffffffffc0010800 t bpf_prog_bbbb_y	[bpf]
ffffffffc0400000 t ftrace_trampoline	[__builtin__ftrace]
`

const boundsModules = `moda 8192 0 - Live 0xffffffffc0001000
modb 4096 0 - Live 0x0000000000000000
`

// writeTable writes kallsyms and modules files into dir and returns the
// kallsyms path. Files are rewritten in place, so that a Table's open
// descriptors see the new content, as with /proc.
func writeTable(tb testing.TB, dir, kallsyms, modules string) string {
	tb.Helper()
	for name, data := range map[string]string{"kallsyms": kallsyms, "modules": modules} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return filepath.Join(dir, "kallsyms")
}

func TestLookupBounds(t *testing.T) {
	tab := New(writeTable(t, t.TempDir(), boundsKallsyms, boundsModules))
	t.Cleanup(func() { tab.Close() })
	tests := []struct {
		name string
		addr uint64
		want string // "" for ErrNotFound
	}{
		{"core text up to the next text symbol", 0xffffffff81000fff, "start_kernel"},
		{"last core text symbol ends at the data that follows", 0xffffffff81001fff, "vfs_read"},
		{"core data", 0xffffffff81002fff, "__start_rodata"},
		{"last core symbol bounded by MaxTail", 0xffffffff81003000 + MaxTail - 1, "some_data"},
		{"past the last core symbol's bound", 0xffffffff81003000 + MaxTail, ""},
		{"module symbol", 0xffffffffc0001010, "mod_a_fn"},
		{"last module symbol up to the module end", 0xffffffffc0002fff, "mod_a_last"},
		{"past the module end", 0xffffffffc0003000, ""},
		{"hidden module address: MaxTail", 0xffffffffc0500000 + MaxTail - 1, "mod_b_fn"},
		{"hidden module address: past MaxTail", 0xffffffffc0500000 + MaxTail, ""},
		{"bpf program", 0xffffffffc00107ff, "bpf_prog_aaaa_x"},
		{"last bpf program bounded by MaxTail", 0xffffffffc0010800 + MaxTail - 1, "bpf_prog_bbbb_y"},
		{"JIT code loaded later, 3 MiB past the last program", 0xffffffffc0300000, ""},
		{"ftrace trampoline", 0xffffffffc0400010, "ftrace_trampoline"},
		{"past everything", ^uint64(0), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tab.Lookup(tt.addr)
			if tt.want == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("Lookup(0x%x) = %+v, %v; want ErrNotFound", tt.addr, got, err)
				}
				return
			}
			if err != nil || got.Name != tt.want || got.Offset != tt.addr-got.Addr {
				t.Errorf("Lookup(0x%x) = %+v, %v; want %s", tt.addr, got, err, tt.want)
			}
		})
	}
}

func TestParseModules(t *testing.T) {
	got := parseModules(strings.NewReader(`ext4 1077248 1 - Live 0xffffffffc0a00000
short line
bad notanumber 1 - Live 0xffffffffc0b00000
hidden 4096 0 - Live 0x0000000000000000
tainted 8192 0 - Live 0xffffffffc0c00000 (OE)
`))
	want := map[string]region{
		"ext4":    {start: 0xffffffffc0a00000, end: 0xffffffffc0a00000 + 1077248},
		"tainted": {start: 0xffffffffc0c00000, end: 0xffffffffc0c00000 + 8192},
	}
	if len(got) != len(want) {
		t.Fatalf("parseModules = %+v, want %+v", got, want)
	}
	for name, r := range want {
		if got[name] != r {
			t.Errorf("parseModules[%s] = %+v, want %+v", name, got[name], r)
		}
	}
}

// TestReread checks when a Table reads its files again: on the first
// lookup outside the core kernel, then at most once per minimum refresh
// interval, never for a core kernel address, through the descriptors it
// opened first.
func TestReread(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1000, 0)
	tab := New(writeTable(t, dir, boundsKallsyms, boundsModules),
		WithMinRefresh(time.Minute), WithClock(func() time.Time { return now }))
	t.Cleanup(func() { tab.Close() })
	const newProg = 0xffffffffc0300000
	lookup := func(addr uint64) string {
		t.Helper()
		sym, err := tab.Lookup(addr)
		if errors.Is(err, ErrNotFound) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return sym.Name
	}
	if got := lookup(newProg); got != "" {
		t.Fatalf("before the program exists: %q, want not found", got)
	}

	// A program loaded after the table was read: the first lookup outside
	// the core rereads, whatever the interval.
	tab2 := New(writeTable(t, t.TempDir(), boundsKallsyms, boundsModules),
		WithMinRefresh(time.Hour), WithClock(func() time.Time { return now }))
	t.Cleanup(func() { tab2.Close() })
	if _, err := tab2.Len(); err != nil {
		t.Fatal(err)
	}
	writeTable(t, filepath.Dir(tab2.Path()), boundsKallsyms+"ffffffffc0300000 t bpf_prog_cccc_new\t[bpf]\n", boundsModules)
	if sym, err := tab2.Lookup(newProg + 4); err != nil || sym.Name != "bpf_prog_cccc_new" || sym.Module != "bpf" {
		t.Errorf("first lookup after a program was loaded = %+v, %v; want bpf_prog_cccc_new", sym, err)
	}

	// tab has reread once already (the miss above): a change within the
	// interval is not seen, one after it is.
	writeTable(t, dir, boundsKallsyms+"ffffffffc0300000 t bpf_prog_dddd_late\t[bpf]\n", boundsModules)
	if got := lookup(newProg); got != "" {
		t.Errorf("within the refresh interval: %q, want the old table (not found)", got)
	}
	now = now.Add(time.Minute)
	if got := lookup(newProg); got != "bpf_prog_dddd_late" {
		t.Errorf("after the refresh interval: %q, want bpf_prog_dddd_late", got)
	}

	// A core kernel hit never rereads.
	now = now.Add(time.Hour)
	writeTable(t, dir, strings.Replace(boundsKallsyms, "start_kernel", "renamed", 1), boundsModules)
	if got := lookup(0xffffffff81000100); got != "start_kernel" {
		t.Errorf("core lookup = %q, want start_kernel from the table already read", got)
	}

	// A reread that fails keeps the previous table and says why.
	writeTable(t, dir, "not a kallsyms line\n", boundsModules)
	if got := lookup(newProg); got != "bpf_prog_dddd_late" {
		t.Errorf("after a failed reread = %q, want the previous table", got)
	}
	if err := tab.RereadErr(); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("RereadErr() = %v, want the parse error", err)
	}
}

// TestRereadWithoutCapabilities loads a BPF program after the table was
// read, then looks its JIT address up from a thread with no effective
// capabilities, as ebpfmon does once it has dropped them: the descriptor
// opened while privileged still shows addresses, and the lookup finds the
// program instead of the symbol below it.
func TestRereadWithoutCapabilities(t *testing.T) {
	testenv.Privileged(t)
	tab := New(DefaultPath)
	t.Cleanup(func() { tab.Close() })
	if _, err := tab.Len(); err != nil {
		t.Fatal(err)
	}
	counter, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { counter.Close() })
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "ksym_reread", Type: ebpf.SocketFilter, License: "GPL",
		Instructions: testenv.CounterProg(counter, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Close() })
	info, err := prog.Info()
	if err != nil {
		t.Fatal(err)
	}
	addrs, ok := info.JitedKsymAddrs()
	if !ok || len(addrs) == 0 || addrs[0] == 0 {
		testenv.Unavailable(t, "no JIT symbol address for the program (JIT off or net.core.bpf_jit_kallsyms=0)")
		return
	}
	addr := uint64(addrs[0])

	var fresh error
	var sym Symbol
	err = caps.WithoutEffective(func() error {
		f, err := os.Open(DefaultPath)
		if err != nil {
			return err
		}
		_, fresh = parse(f, nil)
		f.Close()
		sym, err = tab.Lookup(addr + 1)
		return err
	})
	if err != nil {
		t.Fatalf("Lookup(0x%x) without capabilities: %v", addr+1, err)
	}
	if !errors.Is(fresh, ErrAddressesHidden) {
		t.Logf("note: a new open without capabilities still sees addresses (%v); kernel.kptr_restrict=0 with perf_event_paranoid<=1?", fresh)
	}
	if !strings.HasPrefix(sym.Name, "bpf_prog_") || !strings.HasSuffix(sym.Name, "_ksym_reread") || sym.Module != "bpf" || sym.Offset != 1 {
		t.Errorf("Lookup(program+1) = %+v, want bpf_prog_TAG_ksym_reread in [bpf] at offset 1", sym)
	}
}
