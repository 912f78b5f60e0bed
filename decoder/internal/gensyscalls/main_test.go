package main

import (
	"bytes"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
	"os"
	"path/filepath"
	"testing"
)

// TestGeneratedUpToDate regenerates each committed table from the installed
// headers and fails if it differs, so a header update cannot go unnoticed.
func TestGeneratedUpToDate(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			tg := targets()[arch]
			if _, err := findHeader(tg.header, tg.includeDirs); err != nil {
				testenv.Unavailable(t, "%v (make setup installs linux-libc-dev and linux-libc-dev-arm64-cross)", err)
			}
			got, err := generate(arch, "")
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("..", "..", "syscalls_"+arch+"_gen.go"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("syscalls_%s_gen.go is stale: run go generate ./decoder", arch)
			}
		})
	}
}

func TestPreprocessor(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("asm/bits.h", "#ifndef BITS\n#define BITS 32\n#endif\n")
	write("asm/unistd.h", `/* multi-line
   comment */
#define WANT_A
#define BITS 64 // overrides the default
#include <asm/bits.h>
#define __SYSCALL(x, y)
#define __NR_read 0
#ifdef WANT_A
#define __NR_a 1
#else
#define __NR_not_a 1
#endif
#ifndef WANT_A
#define __NR_not_a2 2
#elif BITS == 64 && !defined(WANT_B)
#define __NR_b 2
#endif
#if defined(WANT_B) || BITS != 32
#define __NR3264_c 3
#endif
#if BITS > 32 && \
    (BITS <= 64)
#define __NR_c __NR3264_c
#endif
#if 0
#if 1
#define __NR_nested_dead 9
#endif
#endif
#define __NR_syscalls 4
`)
	p := newPreprocessor(dir)
	if err := p.file(filepath.Join(dir, "asm/unistd.h")); err != nil {
		t.Fatal(err)
	}
	got, err := p.syscalls()
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]string{0: "read", 1: "a", 2: "b", 3: "c"}
	if len(got) != len(want) {
		t.Fatalf("syscalls() = %v, want %v", got, want)
	}
	for n, name := range want {
		if got[n] != name {
			t.Errorf("syscall %d = %q, want %q", n, got[n], name)
		}
	}
}

func TestPreprocessorErrors(t *testing.T) {
	tests := map[string]string{
		"unterminated if": "#if 1\n",
		"stray endif":     "#endif\n",
		"stray else":      "#else\n",
		"missing include": "#include <nope.h>\n",
		"bad expression":  "#if 1 +\n#endif\n",
		"duplicate":       "#define __NR_a 1\n#define __NR_b 1\n",
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "h.h")
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			p := newPreprocessor(dir)
			err := p.file(path)
			if err == nil {
				_, err = p.syscalls()
			}
			if err == nil {
				t.Errorf("want an error for %q", src)
			}
		})
	}
}
