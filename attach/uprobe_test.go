package attach

import (
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// symValue is the value of the dynamic symbol name@version in path.
func symValue(t *testing.T, path, name, version string) uint64 {
	t.Helper()
	f, err := elf.Open(path)
	must(t, err)
	defer f.Close()
	syms, err := f.DynamicSymbols()
	must(t, err)
	for _, s := range syms {
		if s.Name == name && s.Version == version && s.Section != elf.SHN_UNDEF {
			return s.Value
		}
	}
	t.Fatalf("%s has no %s@%s", path, name, version)
	return 0
}

// TestFuncOffset resolves symbols in the test library (a versioned symbol
// with two versions) and programs (PIE and not), without the kernel.
func TestFuncOffset(t *testing.T) {
	pie := buildTestProg(t, true, "-O2")
	nopie := buildTestProg(t, false, "-O2")
	v1 := symValue(t, pie.lib, "ebpfmon_lib_call", "EBPFMON_1")
	v0 := symValue(t, pie.lib, "ebpfmon_lib_call", "EBPFMON_0")
	if v0 == v1 {
		t.Fatal("both versions at one address: the test library is not built as intended")
	}
	offsetOf := func(path string, vaddr uint64) uint64 {
		f, err := elf.Open(path)
		must(t, err)
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && p.Vaddr <= vaddr && vaddr < p.Vaddr+p.Memsz {
				return vaddr - p.Vaddr + p.Off
			}
		}
		t.Fatalf("%#x not in %s's text", vaddr, path)
		return 0
	}
	ok := []struct {
		path, symbol string
		offset, want uint64
	}{
		{pie.lib, "ebpfmon_lib_call", 0, offsetOf(pie.lib, v1)}, // the default version
		{pie.lib, "ebpfmon_lib_call@@EBPFMON_1", 0, offsetOf(pie.lib, v1)},
		{pie.lib, "ebpfmon_lib_call@EBPFMON_1", 2, offsetOf(pie.lib, v1) + 2},
		{pie.lib, "ebpfmon_lib_call@EBPFMON_0", 0, offsetOf(pie.lib, v0)},
		{pie.bin, "ebpfmon_target", 0, offsetOf(pie.bin, symtabValue(t, pie.bin, "ebpfmon_target"))},
		{nopie.bin, "ebpfmon_target", 0, offsetOf(nopie.bin, symtabValue(t, nopie.bin, "ebpfmon_target"))},
		{nopie.bin, "main", 0, offsetOf(nopie.bin, symtabValue(t, nopie.bin, "main"))},
	}
	if offsetOf(nopie.bin, symtabValue(t, nopie.bin, "main")) == symtabValue(t, nopie.bin, "main") {
		t.Fatal("non-PIE: offset equals address, the test cannot tell them apart")
	}
	for _, tc := range ok {
		t.Run(filepath.Base(tc.path)+":"+tc.symbol, func(t *testing.T) {
			f, err := openELF(tc.path)
			must(t, err)
			defer f.Close()
			got, err := funcOffset(f, tc.path, tc.symbol, tc.offset)
			if err != nil || got != tc.want {
				t.Errorf("funcOffset = %#x, %v; want %#x", got, err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		path, symbol string
		offset       uint64
		want         []string
	}{
		{pie.lib, "ebpfmon_lib_call@@EBPFMON_0", 0, []string{"there is", "ebpfmon_lib_call@EBPFMON_0"}},
		{pie.lib, "ebpfmon_lib_call@EBPFMON_9", 0, []string{"ebpfmon_lib_call@@EBPFMON_1"}},
		{pie.lib, "ebpfmon_lib_cal", 0, []string{"similar: ebpfmon_lib_call"}},
		{pie.bin, "ebpfmon_lib_call", 0, []string{"imported from libebpfmonusdt.so.1", "uprobe/libebpfmonusdt.so.1:ebpfmon_lib_call"}},
		{pie.bin, "ebpfmon_target", 4096, []string{"past the end of ebpfmon_target"}},
		{pie.bin, "zzzzzzzzzzzzzzzzzz", 0, []string{"none named alike", "nm -D"}},
	} {
		t.Run(filepath.Base(tc.path)+":"+tc.symbol+"/error", func(t *testing.T) {
			f, err := openELF(tc.path)
			must(t, err)
			defer f.Close()
			_, err = funcOffset(f, tc.path, tc.symbol, tc.offset)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to mention %q", err, w)
				}
			}
		})
	}
}

// symtabValue is the value of a .symtab symbol.
func symtabValue(t *testing.T, path, name string) uint64 {
	t.Helper()
	f, err := elf.Open(path)
	must(t, err)
	defer f.Close()
	syms, err := f.Symbols()
	must(t, err)
	for _, s := range syms {
		if s.Name == name {
			return s.Value
		}
	}
	t.Fatalf("%s has no %s", path, name)
	return 0
}

// TestFuncOffsetLibc resolves glibc's versioned and indirect symbols.
func TestFuncOffsetLibc(t *testing.T) {
	libc, err := resolveBinary("libc.so.6", "")
	if err != nil {
		testenv.Unavailable(t, "no glibc: %v", err)
	}
	f, err := openELF(libc)
	must(t, err)
	defer f.Close()
	plain, err := funcOffset(f, libc, "malloc", 0)
	must(t, err)
	var version string
	syms, _ := f.DynamicSymbols()
	for _, s := range syms {
		if s.Name == "malloc" && s.Section != elf.SHN_UNDEF {
			version = s.Version
		}
	}
	versioned, err := funcOffset(f, libc, "malloc@@"+version, 0)
	if err != nil || versioned != plain {
		t.Errorf("malloc@@%s = %#x, %v; malloc = %#x", version, versioned, err, plain)
	}
	// strlen is an IFUNC on x86-64 and arm64 glibc.
	if _, err := funcOffset(f, libc, "strlen", 0); err == nil || !strings.Contains(err.Error(), "indirect function") {
		t.Errorf("strlen: err = %v, want one explaining IFUNCs", err)
	}
	if _, err := funcOffset(f, libc, "mallocc", 0); !errors.Is(err, ErrSymbolNotFound) || !strings.Contains(err.Error(), "malloc") {
		t.Errorf("mallocc: err = %v, want ErrSymbolNotFound suggesting malloc", err)
	}
}

// TestUprobeFires attaches counting programs to functions of PIE and
// non-PIE programs and of a library, by path, by name on $PATH, by
// library name and version, and inside a root dir.
func TestUprobeFires(t *testing.T) {
	testenv.Privileged(t)
	pie := buildTestProg(t, true, "-O2")
	nopie := buildTestProg(t, false, "-O2")
	must(t, os.Symlink("/usr/bin", filepath.Join(pie.root, "bin")))
	t.Setenv("PATH", filepath.Dir(nopie.bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	const n = 5
	for _, tc := range []struct {
		section string
		root    string
		prog    testProg
		want    uint64
	}{
		{"uprobe/" + pie.bin + ":ebpfmon_target", "", pie, n},
		{"uretprobe/" + pie.bin + ":ebpfmon_target", "", pie, n},
		{"uprobe/" + nopie.bin + ":ebpfmon_target", "", nopie, n},
		{"uretprobe/" + nopie.bin + ":ebpfmon_target", "", nopie, n},
		{"uprobe/usdtprog:ebpfmon_target", "", nopie, n},                     // $PATH
		{"uprobe/usdtprog:main", pie.root, pie, 1},                           // the root's /usr/bin
		{"uprobe//bin/usdtprog:ebpfmon_target", pie.root, pie, n},            // root/bin -> /usr/bin, inside the root
		{"uprobe/" + pie.bin + ":ebpfmon_target", "/proc/self/root", pie, n}, // a container's view, here the host's
		{"uprobe/libebpfmonusdt.so.1:ebpfmon_lib_call", pie.root, pie, n},
		{"uprobe/libebpfmonusdt.so.1:ebpfmon_lib_call@@EBPFMON_1", pie.root, pie, n},
		{"uretprobe/libebpfmonusdt.so.1:ebpfmon_lib_call@EBPFMON_1", pie.root, pie, n},
		{"uprobe/libebpfmonusdt.so.1:ebpfmon_lib_call@EBPFMON_0", pie.root, pie, 0}, // nothing calls the old version
		// +1: past the probe's 1-byte nop that starts the function.
		{"uprobe/libebpfmonusdt.so.1:ebpfmon_lib_call+1", pie.root, pie, n},
	} {
		t.Run(tc.section+" in "+filepath.Base(tc.root), func(t *testing.T) {
			counter, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
			must(t, err)
			defer counter.Close()
			prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.Kprobe, License: "GPL", Instructions: testenv.CounterProg(counter, 0)})
			must(t, err)
			defer prog.Close()
			l, err := Program(tc.section, prog, Options{Root: tc.root})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			tc.prog.run(t, n)
			var got uint64
			// uretprobes run as the function returns: the count is complete
			// when the program exits, but allow the kernel a moment.
			for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
				must(t, counter.Lookup(uint32(0), &got))
				if got == tc.want || time.Now().After(deadline) {
					break
				}
			}
			if got != tc.want {
				t.Errorf("ran %d times, want %d", got, tc.want)
			}
		})
	}
}

// TestUprobeErrors checks bad uprobe targets fail clearly (no kernel
// needed: they fail before the program is used).
func TestUprobeErrors(t *testing.T) {
	p := buildTestProg(t, true, "-O2")
	script := filepath.Join(t.TempDir(), "script.sh")
	must(t, os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755))
	for _, tc := range []struct {
		section string
		is      error
		want    string
	}{
		{"uprobe/" + script + ":main", ErrNotELF, "a script for /bin/sh"},
		{"uprobe/" + p.bin + ":nosuch", ErrSymbolNotFound, "nosuch"},
		{"uprobe/" + p.bin + ":ebpfmon_targe", ErrSymbolNotFound, "similar: ebpfmon_target"},
		{"uretprobe/" + p.bin + ":ebpfmon_target+4", nil, "takes no +OFFSET"},
		{"uprobe/libebpfmonusdt.so.1:ebpfmon_lib_call", nil, "not found"}, // not in the host's library path
		{"uprobe//nosuch/prog:main", os.ErrNotExist, "/nosuch/prog"},
	} {
		t.Run(tc.section, func(t *testing.T) {
			_, err := Program(tc.section, nil, Options{})
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tc.is, tc.want)
			}
		})
	}
}

// TestInRoot resolves symlinks inside a root without leaving it.
func TestInRoot(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"usr/bin", "usr/lib", "etc"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	must(t, os.WriteFile(filepath.Join(root, "usr/bin/python3.11"), nil, 0o755))
	for link, target := range map[string]string{
		"bin":                 "/usr/bin",              // absolute: the root's /usr/bin
		"lib":                 "usr/lib",               // relative
		"usr/bin/python3":     "python3.11",            // relative, same dir
		"usr/bin/escape":      "../../../../../../etc", // climbs above the root: stops at it
		"usr/bin/loop":        "loop",
		"usr/bin/abs-python3": "/bin/python3", // chains of links
	} {
		must(t, os.Symlink(target, filepath.Join(root, link)))
	}
	for in, want := range map[string]string{
		"/bin/python3":         "usr/bin/python3.11",
		"/usr/bin/abs-python3": "usr/bin/python3.11",
		"/bin/../lib":          "usr/lib", // .. after a link is the link target's parent, as in the kernel
		"/usr/bin/escape":      "etc",
		"/../../usr/bin":       "usr/bin",
		"/bin/nosuch/x":        "usr/bin/nosuch/x",
	} {
		got, err := inRoot(root, in)
		if err != nil || got != filepath.Join(root, want) {
			t.Errorf("inRoot(%q) = %q, %v; want %q", in, got, err, filepath.Join(root, want))
		}
	}
	if _, err := inRoot(root, "/usr/bin/loop"); err == nil || !strings.Contains(err.Error(), "too many levels") {
		t.Errorf("symlink loop: %v", err)
	}
	for _, r := range []string{"", "/"} {
		if got, _ := inRoot(r, "/usr//bin/../bin/x"); got != "/usr/bin/x" {
			t.Errorf("inRoot(%q) = %q, want the path cleaned, links left to the kernel", r, got)
		}
	}
}

// TestResolveBinary looks bare names up on $PATH and in the library path,
// in and out of a root.
func TestResolveBinary(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"usr/bin", "usr/lib", "opt/tools"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	self, err := os.ReadFile("/proc/self/exe")
	must(t, err)
	write := func(p string, data []byte, mode os.FileMode) {
		must(t, os.WriteFile(filepath.Join(root, p), data, mode))
	}
	write("usr/bin/tool", self, 0o755)
	write("usr/bin/noexec", self, 0o644)
	write("usr/lib/libx.so.1", self, 0o644)
	write("opt/tools/tool", []byte("#!/bin/sh\n"), 0o755) // a shim, earlier on $PATH
	t.Setenv("PATH", "/opt/tools:relative/dir:/usr/bin")
	for _, tc := range []struct{ name, want string }{
		{"tool", "usr/bin/tool"}, // the shim is skipped
		{"libx.so.1", "usr/lib/libx.so.1"},
		{"/usr/bin/noexec", "usr/bin/noexec"},
	} {
		got, err := resolveBinary(tc.name, root)
		if err != nil || got != filepath.Join(root, tc.want) {
			t.Errorf("resolveBinary(%q) = %q, %v; want %q", tc.name, got, err, filepath.Join(root, tc.want))
		}
	}
	_, err = resolveBinary("noexec", root)
	if err == nil || !strings.Contains(err.Error(), "under "+root) {
		t.Errorf("non-executable found on $PATH: %v", err)
	}
	if _, err := resolveBinary("tool2", root); err == nil || !strings.Contains(err.Error(), "/opt/tools:/usr/bin") {
		t.Errorf("error should list the searched $PATH: %v", err)
	}
	if got, _ := resolveBinary("rel/prog", root); got != "rel/prog" {
		t.Errorf("relative path changed to %q", got)
	}
}
