package usdt

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// note encodes one ELF note.
func note(order binary.ByteOrder, owner string, typ uint32, desc []byte) []byte {
	var b bytes.Buffer
	name := append([]byte(owner), 0)
	_ = binary.Write(&b, order, [3]uint32{uint32(len(name)), uint32(len(desc)), typ})
	b.Write(name)
	b.Write(make([]byte, align4(uint64(len(name)))-uint64(len(name))))
	b.Write(desc)
	b.Write(make([]byte, align4(uint64(len(desc)))-uint64(len(desc))))
	return b.Bytes()
}

// sdtDesc encodes a stapsdt desc.
func sdtDesc(order binary.ByteOrder, addrSize int, pc, base, sema uint64, strs ...string) []byte {
	var b bytes.Buffer
	for _, a := range []uint64{pc, base, sema} {
		if addrSize == 4 {
			_ = binary.Write(&b, order, uint32(a))
		} else {
			_ = binary.Write(&b, order, a)
		}
	}
	for _, s := range strs {
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.Bytes()
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestParseNotes(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	hit := Probe{Provider: "ebpfmon", Name: "hit", Address: 0x1240, Base: 0x2030, Args: "-4@%edi"}
	sema := Probe{Provider: "python", Name: "gc__start", Address: 0x4287f3, Base: 0x8cc5a0, Semaphore: 0xa8426e, Args: "-4@112(%rsp)"}
	noArgs := Probe{Provider: "p", Name: "n", Address: 1, Base: 2}
	for _, tc := range []struct {
		name     string
		data     []byte
		order    binary.ByteOrder
		addrSize int
		want     []Probe
		err      string
	}{
		{"one", note(le, "stapsdt", 3, sdtDesc(le, 8, 0x1240, 0x2030, 0, "ebpfmon", "hit", "-4@%edi")), le, 8, []Probe{hit}, ""},
		{"two with semaphore", cat(
			note(le, "stapsdt", 3, sdtDesc(le, 8, 0x1240, 0x2030, 0, "ebpfmon", "hit", "-4@%edi")),
			note(le, "stapsdt", 3, sdtDesc(le, 8, 0x4287f3, 0x8cc5a0, 0xa8426e, "python", "gc__start", "-4@112(%rsp)"))),
			le, 8, []Probe{hit, sema}, ""},
		{"no arguments", note(le, "stapsdt", 3, sdtDesc(le, 8, 1, 2, 0, "p", "n", "")), le, 8, []Probe{noArgs}, ""},
		{"32-bit big-endian", note(be, "stapsdt", 3, sdtDesc(be, 4, 0x1240, 0x2030, 0, "ebpfmon", "hit", "-4@%edi")), be, 4, []Probe{hit}, ""},
		{"other owner and type skipped", cat(
			note(le, "GNU", 3, []byte{1, 2, 3, 4}),
			note(le, "stapsdt", 1, sdtDesc(le, 8, 9, 9, 9, "old", "v1", "")),
			note(le, "stapsdt", 3, sdtDesc(le, 8, 1, 2, 0, "p", "n", ""))),
			le, 8, []Probe{noArgs}, ""},
		{"empty section", nil, le, 8, nil, ""},
		{"truncated header", []byte{1, 2, 3}, le, 8, nil, "truncated header"},
		{"desc past the end", note(le, "stapsdt", 3, sdtDesc(le, 8, 1, 2, 0, "p", "n", ""))[:30], le, 8, nil, "past the section end"},
		{"desc too short", note(le, "stapsdt", 3, []byte{1, 2, 3, 4}), le, 8, nil, "too short"},
		{"missing NUL", note(le, "stapsdt", 3, sdtDesc(le, 8, 1, 2, 0, "p", "n")), le, 8, nil, "argument string is not NUL-terminated"},
		{"empty provider", note(le, "stapsdt", 3, sdtDesc(le, 8, 1, 2, 0, "", "n", "")), le, 8, nil, "empty provider"},
		{"bad address size", nil, le, 2, nil, "address size"},
		{"huge sizes", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 3, 0, 0, 0}, le, 8, nil, "past the section end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseNotes(tc.data, tc.order, tc.addrSize)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// buildSDT compiles C source using sys/sdt.h into an executable.
func buildSDT(t *testing.T, src string, flags ...string) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		testenv.Unavailable(t, "gcc not installed")
	}
	dir := t.TempDir()
	c := filepath.Join(dir, "prog.c")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "prog")
	if msg, err := exec.Command(gcc, append(flags, "-o", out, c)...).CombinedOutput(); err != nil {
		if bytes.Contains(msg, []byte("sys/sdt.h")) {
			testenv.Unavailable(t, "sys/sdt.h missing (Debian package systemtap-sdt-dev): %s", msg)
		}
		t.Fatalf("gcc: %v\n%s", err, msg)
	}
	return out
}

const sdtProg = `#include <sys/sdt.h>
#include <stdlib.h>
int main(int argc, char **argv) {
	int v = atoi(argv[0]);
	DTRACE_PROBE1(prov, one, v);
	DTRACE_PROBE2(prov, two, v, 7);
	DTRACE_PROBE(prov, none);
	return 0;
}
`

// TestRead reads the probes gcc wrote, in PIE and non-PIE executables.
func TestRead(t *testing.T) {
	for _, flags := range [][]string{{"-fPIE", "-pie"}, {"-fno-PIE", "-no-pie"}} {
		t.Run(flags[1], func(t *testing.T) {
			path := buildSDT(t, sdtProg, append(flags, "-O2")...)
			f, err := elf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			probes, err := Read(f)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range probes {
				names = append(names, p.String())
				text := f.Section(".text")
				if p.Address < text.Addr || p.Address >= text.Addr+text.Size {
					t.Errorf("%s at %#x, outside .text", p, p.Address)
				}
				if p.Offset != p.Address-text.Addr+text.Offset {
					t.Errorf("%s: file offset %#x, want %#x", p, p.Offset, p.Address-text.Addr+text.Offset)
				}
				if _, err := ParseArgs(p.Args, f.Machine); err != nil {
					t.Errorf("%s: %v", p, err)
				}
			}
			if strings.Join(names, " ") != "prov:one prov:two prov:none" {
				t.Errorf("probes %v", names)
			}
		})
	}
	t.Run("no probes", func(t *testing.T) {
		f, err := elf.Open(buildSDT(t, "int main(void) { return 0; }"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := Read(f); !errors.Is(err, ErrNoProbes) {
			t.Errorf("err = %v, want ErrNoProbes", err)
		}
	})
}
