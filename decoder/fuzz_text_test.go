package decoder

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ebpfmon/ebpfmon/config"
)

// textCheck is one decoder that takes text, and what must hold of its
// output (out, err) for the input in.
type textCheck struct {
	conf  config.Decoder
	check func(t *testing.T, in []byte, out string, err error)
}

// valid is in as a chain outputs it: valid UTF-8.
func valid(b []byte) string { return strings.ToValidUTF8(string(b), "\uFFFD") }

// wantNumber checks that a decoder of decimal text fails on anything else,
// and returns the number; ok is false when in is not decimal text.
func wantNumber(t *testing.T, in []byte, err error) (n uint64, ok bool) {
	t.Helper()
	n, perr := strconv.ParseUint(string(in), 10, 64)
	switch {
	case perr != nil && err == nil:
		t.Fatalf("Decode(%q) accepted text that is no decimal number", in)
	case perr != nil:
		if errors.Is(err, ErrSkipLabelSet) {
			t.Fatalf("Decode(%q): a bad number skips the label set instead of failing", in)
		}
		return 0, false
	case err != nil:
		t.Fatalf("Decode(%q) = %v, want a value for %d", in, err, n)
	}
	return n, true
}

// wantUnknown checks that out is prefix followed by n as fmtVerb formats
// it: what a decoder gives for a number it cannot name.
func wantUnknown(t *testing.T, in []byte, out, format string, n uint64) {
	t.Helper()
	if want := fmt.Sprintf(format, n); out != want {
		t.Fatalf("Decode(%q) = %q, want a name or %q", in, out, want)
	}
}

// errnoNumbers maps every errno name to its number (the inverse of
// unix.ErrnoName, which gives one name per number).
func errnoNumbers() map[string]uint64 {
	m := map[string]uint64{}
	for n := uint64(1); n < 4096; n++ {
		if name := unix.ErrnoName(syscall.Errno(n)); name != "" {
			m[name] = n
		}
	}
	return m
}

// textChecks are the decoders that take text, each with the property its
// output has: the value of a known key, or the documented fallback built
// from the input (so that the input can be read back from it).
func textChecks(db *pciDB) []textCheck {
	errnos := errnoNumbers()
	static := config.StaticMap{"2": "two", "": "empty"}
	pciName := func(names map[uint64]string, format string) func(t *testing.T, in []byte, out string, err error) {
		return func(t *testing.T, in []byte, out string, err error) {
			n, ok := wantNumber(t, in, err)
			if !ok {
				return
			}
			if name, known := names[n]; known {
				if out != name {
					t.Fatalf("Decode(%q) = %q, want %q", in, out, name)
				}
				return
			}
			wantUnknown(t, in, out, format, n)
		}
	}
	vendors, devices, classes := map[uint64]string{}, map[uint64]string{}, map[uint64]string{}
	for id, name := range db.vendors {
		vendors[uint64(id)] = name
	}
	for id, name := range db.devices {
		devices[uint64(id)] = name
	}
	for id, name := range db.classes {
		classes[uint64(id)] = name
	}
	return []textCheck{
		{config.Decoder{Name: "static_map", StaticMap: static}, func(t *testing.T, in []byte, out string, err error) {
			want, ok := static[string(in)]
			if !ok {
				want = valid(append([]byte("unknown:"), in...))
			}
			if err != nil || out != want {
				t.Fatalf("Decode(%q) = %q, %v; want %q", in, out, err, want)
			}
		}},
		{config.Decoder{Name: "static_map", StaticMap: static, AllowUnknown: true}, func(t *testing.T, in []byte, out string, err error) {
			want, ok := static[string(in)]
			if !ok {
				want = valid(in)
			}
			if err != nil || out != want {
				t.Fatalf("Decode(%q) = %q, %v; want %q", in, out, err, want)
			}
		}},
		{config.Decoder{Name: "regexp", Regexps: []string{`^(\d+)`, `x`, `^$`}}, func(t *testing.T, in []byte, out string, err error) {
			var want string
			switch {
			case len(in) > 0 && in[0] >= '0' && in[0] <= '9':
				want = valid(in[:len(in)-len(bytes.TrimLeft(in, "0123456789"))])
			case bytes.ContainsRune(in, 'x') || len(in) == 0:
				want = valid(in)
			default:
				if !errors.Is(err, ErrSkipLabelSet) {
					t.Fatalf("Decode(%q) = %q, %v; no regexp matches, want the label set skipped", in, out, err)
				}
				return
			}
			if err != nil || out != want {
				t.Fatalf("Decode(%q) = %q, %v; want %q", in, out, err, want)
			}
		}},
		{config.Decoder{Name: "errno"}, func(t *testing.T, in []byte, out string, err error) {
			n, ok := wantNumber(t, in, err)
			if !ok {
				return
			}
			if back, known := errnos[out]; known {
				if back != n {
					t.Fatalf("Decode(%q) = %q, which is errno %d", in, out, back)
				}
				return
			}
			wantUnknown(t, in, out, "unknown:%d", n)
		}},
		{config.Decoder{Name: "syscall"}, func(t *testing.T, in []byte, out string, err error) {
			n, ok := wantNumber(t, in, err)
			if !ok {
				return
			}
			if i := slices.Index(syscallsAMD64[:], out); i >= 0 && out != "" {
				if uint64(i) != n {
					t.Fatalf("Decode(%q) = %q, which is syscall %d", in, out, i)
				}
				return
			}
			wantUnknown(t, in, out, "unknown_syscall:%d", n)
		}},
		{config.Decoder{Name: "cgroup"}, func(t *testing.T, in []byte, out string, err error) {
			n, ok := wantNumber(t, in, err)
			if !ok || strings.HasPrefix(out, "/") {
				return
			}
			wantUnknown(t, in, out, "unknown_cgroup_id:%d", n)
		}},
		{config.Decoder{Name: "pci_vendor"}, pciName(vendors, "unknown pci vendor: 0x%04x")},
		{config.Decoder{Name: "pci_device"}, pciName(devices, "unknown pci device: 0x%08x")},
		{config.Decoder{Name: "pci_class"}, pciName(classes, "unknown pci class: 0x%02x")},
		{config.Decoder{Name: "pci_subclass"}, func(t *testing.T, in []byte, out string, err error) {
			n, ok := wantNumber(t, in, err)
			if !ok {
				return
			}
			class, sub := uint8(n>>8), uint8(n) // the low 16 bits only
			switch name, known := db.subclasses[uint16(n)]; {
			case known:
				if out != name {
					t.Fatalf("Decode(%q) = %q, want %q", in, out, name)
				}
			case db.classes[class] == "":
				wantUnknown(t, in, out, "unknown pci class: 0x%02x", uint64(class))
			default:
				if want := fmt.Sprintf("unknown pci subclass: 0x%02x (class 0x%02x)", sub, class); out != want {
					t.Fatalf("Decode(%q) = %q, want %q", in, out, want)
				}
			}
		}},
	}
}

// FuzzTextDecoders feeds arbitrary text to every decoder that takes text
// (static_map, regexp, errno, syscall, cgroup and the pci ones), as the
// output of uint or string: each gives the value of a known input, or its
// documented fallback from which the number reads back; a decoder of
// numbers fails on anything but decimal text, and only regexp skips.
func FuzzTextDecoders(f *testing.F) {
	seeds := []string{"2", "0", "05", "231", "4095", "32902", "264", "513", "4294967295",
		"18446744073709551615", "18446744073709551616", "-1", "+5", " 5", "0x10", "\xff1", "", "x", "abc"}
	env := testEnv(f)
	db, err := env.pci()
	if err != nil || db == nil {
		f.Fatalf("testdata/pci.ids: %v", err)
	}
	checks := textChecks(db)
	for _, s := range seeds {
		for i := range checks {
			f.Add([]byte(s), uint8(i))
		}
	}
	chains := make([]Chain, len(checks))
	for i, c := range checks {
		if chains[i], err = NewChain([]config.Decoder{c.conf}, env); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, which uint8) {
		i := int(which) % len(checks)
		out, err := chains[i].Decode(in)
		if err != nil && out != "" {
			t.Fatalf("%s: Decode(%q) = %q and error %v", checks[i].conf.Name, in, out, err)
		}
		checks[i].check(t, in, out, err)
	})
}

// FuzzParsePCIIDs parses arbitrary pci.ids text: what it accepts writes
// back, in the pci.ids format, to text that parses to the same database.
func FuzzParsePCIIDs(f *testing.F) {
	seed, err := os.ReadFile("testdata/pci.ids")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	for _, s := range []string{"", "8086  Intel\n\t1000  NIC\n", "C 01  Mass\n\t06  SATA\n\t\t01  AHCI\n",
		"\t0001  orphan\n", "8086\n", "zzzz  bad\n", "10000  too wide\n", "C 100  too wide\n", "8086  a\r\n\t0001 b\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		db, err := parsePCIIDs(bytes.NewReader(text))
		if err != nil {
			if strings.Contains(err.Error(), "token too long") || strings.HasPrefix(err.Error(), "line ") {
				return
			}
			t.Fatalf("error %q names no line", err)
		}
		back := formatPCIIDs(db)
		again, err := parsePCIIDs(strings.NewReader(back))
		if err != nil {
			t.Fatalf("written back as %q, which fails: %v", back, err)
		}
		if !maps.Equal(db.vendors, again.vendors) || !maps.Equal(db.devices, again.devices) ||
			!maps.Equal(db.classes, again.classes) || !maps.Equal(db.subclasses, again.subclasses) {
			t.Fatalf("%+v written back as %q parses to %+v", db, back, again)
		}
	})
}

// formatPCIIDs writes db in the pci.ids format: each vendor then its
// devices, each class then its subclasses.
func formatPCIIDs(db *pciDB) string {
	var b strings.Builder
	for v := range db.vendors { // devices follow the line of their vendor, which parsed
		fmt.Fprintf(&b, "%04x  %s\n", v, db.vendors[v])
		for id, name := range db.devices {
			if uint16(id>>16) == v {
				fmt.Fprintf(&b, "\t%04x  %s\n", uint16(id), name)
			}
		}
	}
	for c, name := range db.classes {
		fmt.Fprintf(&b, "C %02x  %s\n", c, name)
		for id, sub := range db.subclasses {
			if uint8(id>>8) == c {
				fmt.Fprintf(&b, "\t%02x  %s\n", uint8(id), sub)
			}
		}
	}
	return b.String()
}
