package kallsyms

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse parses arbitrary kallsyms text (seeded with testdata and the
// shapes of a real /proc/kallsyms: modules, BPF programs, hidden
// addresses): it has one symbol per non-blank line; every symbol is found
// at its own address, as the first symbol in file order there, and by its
// name at that address or a lower one; a lookup never gives a symbol
// starting above the address asked, and its offset is the distance.
func FuzzParse(f *testing.F) {
	for _, path := range []string{"testdata/kallsyms", "testdata/kallsyms.hidden"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint16(1))
	}
	f.Add([]byte("ffffffff81000000 T _stext\nffffffff81000000 T _text\nffffffff81001000 t do_one_initcall\n"+
		"ffffffff82000000 D jiffies\nffffffffc0a01000 t nf_hook_slow\t[nf_tables]\n"+
		"ffffffffc002ef54 t bpf_prog_5392d9dc8937f32d_xdp_count\t[bpf]\nffffffffc002f32c t bpf_prog_98eb_egress\t[bpf]\n"), uint16(0x120))
	f.Add([]byte("0 T a\r\n\n1 w b\t[m]\n  \nFFFFFFFFFFFFFFFF t top\n"), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, delta uint16) {
		tab, err := Parse(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "kallsyms") && !errors.Is(err, ErrAddressesHidden) {
				t.Fatalf("error %q does not say kallsyms", err)
			}
			return
		}
		lines := 0
		for l := range bytes.Lines(data) {
			if len(bytes.TrimSpace(l)) > 0 {
				lines++
			}
		}
		if n, err := tab.Len(); err != nil || n != lines {
			t.Fatalf("%d symbols, %v; %d non-blank lines", n, err, lines)
		}
		syms := tab.syms.Load()
		for i, e := range syms.entries {
			name := syms.name(e)
			sym, err := tab.Lookup(e.addr)
			first := i
			for first > 0 && syms.entries[first-1].addr == e.addr {
				first--
			}
			if err != nil || sym.Offset != 0 || sym.Addr != e.addr || sym.Name != syms.name(syms.entries[first]) {
				t.Fatalf("Lookup(%#x) = %+v, %v; want %q at offset 0", e.addr, sym, err, syms.name(syms.entries[first]))
			}
			if addr, err := tab.Address(name); err != nil || addr > e.addr {
				t.Fatalf("Address(%q) = %#x, %v; it is at %#x", name, addr, err, e.addr)
			}
			if e.addr+uint64(delta) < e.addr {
				continue
			}
			at := e.addr + uint64(delta)
			if sym, err := tab.Lookup(at); err == nil && (sym.Addr > at || sym.Addr+sym.Offset != at) {
				t.Fatalf("Lookup(%#x) = %+v", at, sym)
			}
		}
	})
}
