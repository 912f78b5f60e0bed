package attach

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
	"github.com/ebpfmon/ebpfmon/usdt"
)

// testProg is usdtprog and its library, built into root/usr/bin and
// root/usr/lib (the program finds the library through its rpath).
type testProg struct {
	root, bin, lib string
	pie            bool
}

// buildTestProg compiles testdata/usdtprog.c & co with gcc: PIE or not,
// optimised (registers, constants, rip-relative operands) or not (stack
// slots).
func buildTestProg(t *testing.T, pie bool, opt string) testProg {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		testenv.Unavailable(t, "gcc not installed (Debian package gcc)")
	}
	root := t.TempDir()
	p := testProg{root: root, bin: filepath.Join(root, "usr/bin/usdtprog"), lib: filepath.Join(root, "usr/lib/libebpfmonusdt.so.1"), pie: pie}
	for _, d := range []string{"usr/bin", "usr/lib"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	pieFlags := []string{"-fno-PIE", "-no-pie"}
	if pie {
		pieFlags = []string{"-fPIE", "-pie"}
	}
	for _, args := range [][]string{
		{opt, "-g", "-shared", "-fPIC", "-Wl,-soname,libebpfmonusdt.so.1", "-Wl,--version-script=testdata/usdtlib.map", "-o", p.lib, "testdata/usdtlib.c"},
		append(append([]string{opt, "-g"}, pieFlags...), "-o", p.bin, "testdata/usdtprog.c", "testdata/usdtsema.c", "testdata/usdtbad.c",
			p.lib, "-Wl,-rpath,$ORIGIN/../lib"),
	} {
		out, err := exec.Command(gcc, args...).CombinedOutput()
		if err != nil {
			if bytes.Contains(out, []byte("sys/sdt.h")) {
				testenv.Unavailable(t, "sys/sdt.h missing (Debian package systemtap-sdt-dev): %s", out)
			}
			t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return p
}

// run runs the program with N=n and returns what it printed.
func (p testProg) run(t *testing.T, n int) string {
	t.Helper()
	out, err := exec.Command(p.bin, fmt.Sprint(n)).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", p.bin, err, out)
	}
	return string(out)
}

// compileBPF builds the BPF C file src into a temporary object.
func compileBPF(t *testing.T, src string) string {
	t.Helper()
	obj := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(src), ".c")+".o")
	testenv.CompileBPF(t, src, obj)
	return obj
}

// loadUSDT loads a BPF object built against usdt.bpf.h, telling its
// programs to find specs by cookie or by address. Cookie cases skip on
// kernels without BPF cookies (before 5.15), where the address cases
// still run.
func loadUSDT(t *testing.T, obj string, cookies bool) *ebpf.Collection {
	t.Helper()
	if err := usdt.HaveCookies(); cookies && err != nil {
		t.Skipf("no BPF cookies on this kernel (5.15+): %v", err)
	}
	spec, err := usdt.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	must(t, usdt.PrepareLoad(spec))
	must(t, usdt.SetHasCookie(spec, cookies))
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		t.Fatalf("load %s: %v", obj, err)
	}
	t.Cleanup(coll.Close)
	return coll
}

// TestUSDTExample runs examples/usdt.bpf.c, attached to the test program's
// ebpfmon:hit(v) (fired v times for each v), and to its own target,
// python3's python:gc__start(generation).
func TestUSDTExample(t *testing.T) {
	testenv.Privileged(t)
	obj := compileBPF(t, "../examples/usdt.bpf.c")
	for _, tc := range []struct {
		name         string
		pie, cookies bool
	}{
		{"PIE", true, true},
		{"non-PIE", false, true},
		{"non-PIE without cookies", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := buildTestProg(t, tc.pie, "-O2")
			coll := loadUSDT(t, obj, tc.cookies)
			l, err := Program("usdt/"+p.bin+":ebpfmon:hit", coll.Programs["python_gc_start"], Options{Maps: coll.Maps})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			p.run(t, 4)
			got := counts(t, coll.Maps["python_gc_collections_total"])
			want := map[uint32]uint64{1: 1, 2: 2, 3: 3, 4: 4}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("counts by argument %v, want %v", got, want)
			}
		})
	}
	t.Run("PIE without cookies", func(t *testing.T) {
		p := buildTestProg(t, true, "-O2")
		coll := loadUSDT(t, obj, false)
		_, err := Program("usdt/"+p.bin+":ebpfmon:hit", coll.Programs["python_gc_start"], Options{Maps: coll.Maps})
		if err == nil || !strings.Contains(err.Error(), "need BPF cookies") {
			t.Fatalf("err = %v, want one saying PIE needs cookies", err)
		}
	})
	t.Run("python3", func(t *testing.T) {
		// The python3 the section names: the first ELF one on $PATH
		// (pyenv's shim, a script, does not count).
		python, err := resolveBinary("python3", "")
		if err != nil {
			testenv.Unavailable(t, "python3 not installed: the example probes it (Debian package python3-minimal): %v", err)
		}
		coll := loadUSDT(t, obj, usdt.HaveCookies() == nil) // Debian's python3 is not PIE
		l, err := Program("usdt/python3:python:gc__start", coll.Programs["python_gc_start"], Options{Maps: coll.Maps})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		out, err := exec.Command(python, "-c", "import gc; gc.collect(0); gc.collect(1); gc.collect(1); gc.collect(2)").CombinedOutput()
		if err != nil {
			t.Fatalf("python3: %v\n%s", err, out)
		}
		got := counts(t, coll.Maps["python_gc_collections_total"])
		if got[0] < 1 || got[1] < 2 || got[2] < 1 {
			t.Errorf("collections by generation %v, want at least 0:1 1:2 2:1", got)
		}
		for g := range got {
			if g > 2 {
				t.Errorf("generation %d: the argument is misread", g)
			}
		}
	})
}

// counts reads a u32 -> u64 map.
func counts(t *testing.T, m *ebpf.Map) map[uint32]uint64 {
	t.Helper()
	got := map[uint32]uint64{}
	var (
		k uint32
		v uint64
	)
	it := m.Iterate()
	for it.Next(&k, &v) {
		got[k] = v
	}
	must(t, it.Err())
	return got
}

// seen mirrors struct seen of testdata/usdtargs.bpf.c.
type seen struct {
	Hits, ArgCnt int64
	Args, Errs   [usdt.MaxArgs]int64
}

// TestUSDTArgs checks what bpf_usdt_arg returns for every kind of operand
// gcc emits: registers of each width, constants, stack slots, memory
// through a base register, rip-relative globals; in PIE and non-PIE
// programs, with cookies and by address; plus a shared library's probe
// and a probe with a semaphore.
func TestUSDTArgs(t *testing.T) {
	testenv.Privileged(t)
	obj := compileBPF(t, "testdata/usdtargs.bpf.c")
	haveCookies := usdt.HaveCookies() == nil
	// The arguments of ebpfmon:args in usdtprog.c, as the program sees them
	// (sign- or zero-extended to 64 bits).
	wantArgs := []int64{-5, 65001, -123456, 0x1122334455667789, -1000000000000, 7, -42, 0xfeedbeef}
	for _, tc := range []struct {
		name         string
		pie, cookies bool
		opt          string
	}{
		{"PIE -O2", true, true, "-O2"},
		{"PIE -O0", true, true, "-O0"},
		{"non-PIE -O2", false, true, "-O2"},
		{"non-PIE -O2 without cookies", false, false, "-O2"},
		{"non-PIE -O0 without cookies", false, false, "-O0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := buildTestProg(t, tc.pie, tc.opt)
			attachRecord := func(t *testing.T, target string, opts Options) (*ebpf.Collection, func() seen) {
				coll := loadUSDT(t, obj, tc.cookies)
				opts.Maps = coll.Maps
				l, err := Program("usdt/"+target, coll.Programs["record"], opts)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { l.Close() })
				return coll, func() seen {
					var s seen
					must(t, coll.Maps["seen"].Lookup(uint32(0), &s))
					return s
				}
			}
			t.Run("args", func(t *testing.T) {
				_, read := attachRecord(t, p.bin+":ebpfmon:args", Options{})
				p.run(t, 2)
				s := read()
				if s.Hits != 1 || s.ArgCnt != int64(len(wantArgs)) {
					t.Fatalf("hits %d, arg_cnt %d; want 1, %d", s.Hits, s.ArgCnt, len(wantArgs))
				}
				for i, want := range wantArgs {
					if s.Args[i] != want || s.Errs[i] != 0 {
						t.Errorf("arg %d = %d (%#x), err %d; want %d (%#x)", i, s.Args[i], s.Args[i], s.Errs[i], want, want)
					}
				}
				if s.Errs[len(wantArgs)] == 0 {
					t.Errorf("arg %d past arg_cnt read without error", len(wantArgs))
				}
			})
			t.Run("two sites", func(t *testing.T) {
				_, read := attachRecord(t, p.bin+":ebpfmon:hit", Options{})
				p.run(t, 3)
				if s := read(); s.Hits != 1+2+3 || s.ArgCnt != 1 || s.Args[0] != 3 {
					t.Errorf("hits %d arg_cnt %d last arg %d; want 6, 1, 3", s.Hits, s.ArgCnt, s.Args[0])
				}
			})
			t.Run("semaphore", func(t *testing.T) {
				if out := p.run(t, 5); !strings.Contains(out, "fired=0") {
					t.Fatalf("probe fired with nothing attached: %s", out)
				}
				_, read := attachRecord(t, p.bin+":ebpfmon:sema", Options{})
				if out := p.run(t, 5); !strings.Contains(out, "fired=1") {
					t.Errorf("semaphore not set while attached: %s", out)
				}
				if s := read(); s.Hits != 1 || s.Args[0] != 5 {
					t.Errorf("hits %d arg %d; want 1, 5", s.Hits, s.Args[0])
				}
			})
			t.Run("library by name in root", func(t *testing.T) {
				if !tc.cookies {
					t.Skip("a shared library's probe needs cookies (tested below)")
				}
				_, read := attachRecord(t, "libebpfmonusdt.so.1:ebpfmon_lib:call", Options{Root: p.root})
				p.run(t, 4)
				if s := read(); s.Hits != 4 || s.Args[0] != 4 {
					t.Errorf("hits %d arg %d; want 4, 4", s.Hits, s.Args[0])
				}
			})
		})
	}
	t.Run("library without cookies", func(t *testing.T) {
		p := buildTestProg(t, false, "-O2")
		coll := loadUSDT(t, obj, false)
		_, err := Program("usdt/"+p.lib+":ebpfmon_lib:call", coll.Programs["record"], Options{Maps: coll.Maps})
		if err == nil || !strings.Contains(err.Error(), "need BPF cookies") {
			t.Fatalf("err = %v, want one saying libraries need cookies", err)
		}
	})
	t.Run("semaphore released", func(t *testing.T) {
		p := buildTestProg(t, false, "-O2")
		coll := loadUSDT(t, obj, haveCookies)
		l, err := Program("usdt/"+p.bin+":ebpfmon:sema", coll.Programs["record"], Options{Maps: coll.Maps})
		if err != nil {
			t.Fatal(err)
		}
		must(t, l.Close())
		if out := p.run(t, 1); !strings.Contains(out, "fired=0") {
			t.Errorf("semaphore still set after detach: %s", out)
		}
	})
	t.Run("unsupported argument", func(t *testing.T) {
		p := buildTestProg(t, false, "-O2")
		coll := loadUSDT(t, obj, haveCookies)
		_, err := Program("usdt/"+p.bin+":ebpfmon:bad", coll.Programs["record"], Options{Maps: coll.Maps})
		if err == nil || !strings.Contains(err.Error(), "ebpfmon:bad") || !strings.Contains(err.Error(), "8@8(%rax,%rbx,4)") {
			t.Fatalf("err = %v, want one naming the probe and its argument", err)
		}
		t.Logf("reported as: %v", err)
	})
	t.Run("specs shared and reused", func(t *testing.T) {
		p := buildTestProg(t, false, "-O2")
		coll := loadUSDT(t, obj, haveCookies)
		for range 3 { // the same sites again: no new specs
			l, err := Program("usdt/"+p.bin+":ebpfmon:hit", coll.Programs["record"], Options{Maps: coll.Maps})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
		}
		l, err := Program("usdt/"+p.bin+":ebpfmon:args", coll.Programs["record"], Options{Maps: coll.Maps})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if n := usedSpecs(t, coll.Maps[usdt.SpecsMap]); n != 2 {
			t.Errorf("%d specs in use, want 2 (ebpfmon:hit's two sites share one)", n)
		}
	})
}

// usedSpecs counts the non-zero entries of __bpf_usdt_specs.
func usedSpecs(t *testing.T, m *ebpf.Map) int {
	t.Helper()
	n := 0
	b := make([]byte, usdt.SpecSize)
	for id := range m.MaxEntries() {
		must(t, m.Lookup(id, b))
		if !bytes.Equal(b, make([]byte, len(b))) {
			n++
		}
	}
	return n
}

// TestUSDTPaths attaches through each way of naming the binary: a bare
// program name on $PATH, an absolute path inside a root whose symlinks
// must stay in the root, and /proc/PID/root.
func TestUSDTPaths(t *testing.T) {
	testenv.Privileged(t)
	obj := compileBPF(t, "../examples/usdt.bpf.c")
	// Non-PIE: runs with or without BPF cookies.
	p := buildTestProg(t, false, "-O2")
	cookies := usdt.HaveCookies() == nil
	// An absolute symlink: inside the root it means root/usr/bin, on the
	// host it would mean /usr/bin, which has no usdtprog.
	must(t, os.Symlink("/usr/bin", filepath.Join(p.root, "bin")))
	t.Setenv("PATH", filepath.Dir(p.bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, tc := range []struct {
		name, path, root string
	}{
		{"bare name on PATH", "usdtprog", ""},
		{"bare name in root", "usdtprog", p.root},
		{"absolute symlinked path in root", "/bin/usdtprog", p.root},
		{"/proc/self/root", p.bin, "/proc/self/root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			coll := loadUSDT(t, obj, cookies)
			l, err := Program("usdt/"+tc.path+":ebpfmon:hit", coll.Programs["python_gc_start"], Options{Maps: coll.Maps, Root: tc.root})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			p.run(t, 2)
			if got := counts(t, coll.Maps["python_gc_collections_total"]); got[1] != 1 || got[2] != 2 {
				t.Errorf("counts %v, want 1:1 2:2", got)
			}
		})
	}
}

// TestUSDTErrors checks bad targets fail clearly before anything is
// attached (no kernel needed: they fail before the program is used).
func TestUSDTErrors(t *testing.T) {
	p := buildTestProg(t, true, "-O2")
	text := filepath.Join(t.TempDir(), "script.sh")
	must(t, os.WriteFile(text, []byte("#!/bin/sh\necho hi\n"), 0o755))
	for _, tc := range []struct {
		target string
		is     error
		want   []string
	}{
		{p.bin + ":ebpfmon:nosuch", ErrProbeNotFound, []string{"ebpfmon:nosuch", "it has ebpfmon:args ebpfmon:bad ebpfmon:hit ebpfmon:sema"}},
		{p.bin + ":other:hit", ErrProbeNotFound, []string{"other:hit", "ebpfmon:hit"}},
		{text + ":p:n", ErrNotELF, []string{text}},
		{p.root + "/nosuch:p:n", os.ErrNotExist, []string{"nosuch"}},
		{"ebpfmon-nosuch-program:p:n", nil, []string{"not found", "ebpfmon-nosuch-program", "/usr/bin"}},
		{"/usr/lib/x86_64-linux-gnu/libc.a:p:n", ErrNotELF, []string{"libc.a"}},
	} {
		t.Run(tc.target, func(t *testing.T) {
			if strings.Contains(tc.target, "libc.a") {
				if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/libc.a"); err != nil {
					t.Skip("no libc.a here")
				}
			}
			_, err := Program("usdt/"+tc.target, nil, Options{})
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to mention %q", err, w)
				}
			}
		})
	}
	t.Run("no probes", func(t *testing.T) {
		_, err := Program("usdt//bin/true:p:n", nil, Options{})
		if !errors.Is(err, usdt.ErrNoProbes) {
			t.Fatalf("err = %v, want usdt.ErrNoProbes", err)
		}
	})
}

func TestParseUSDT(t *testing.T) {
	for _, tc := range []struct{ in, path, provider, name string }{
		{"python3:python:gc__start", "python3", "python", "gc__start"},
		{"/usr/lib/libc.so.6:libc:setjmp", "/usr/lib/libc.so.6", "libc", "setjmp"},
		{"/opt/a:b/prog:p:n", "/opt/a:b/prog", "p", "n"},
	} {
		path, provider, name, err := parseUSDT(tc.in)
		if err != nil || path != tc.path || provider != tc.provider || name != tc.name {
			t.Errorf("parseUSDT(%q) = %q %q %q %v", tc.in, path, provider, name, err)
		}
		if err := Check("usdt/" + tc.in); err != nil {
			t.Errorf("Check: %v", err)
		}
	}
	for _, bad := range []string{"prog", "prog:p", ":p:n", "prog::n", "prog:p:", "prog:p:n:"} {
		if err := Check("usdt/" + bad); err == nil || !strings.Contains(err.Error(), "PATH:PROVIDER:NAME") {
			t.Errorf("Check(usdt/%s) = %v, want a format error", bad, err)
		}
	}
}

// TestSpecLayoutMatchesHeader checks the offsets usdt.Spec.MarshalBinary
// writes against the BTF of __bpf_usdt_specs in a real object.
func TestSpecLayoutMatchesHeader(t *testing.T) {
	obj := compileBPF(t, "testdata/usdtargs.bpf.c")
	spec, err := usdt.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	m := spec.Maps[usdt.SpecsMap]
	if m.ValueSize != usdt.SpecSize || m.KeySize != 4 {
		t.Fatalf("%s: key %d value %d bytes, want 4 and %d", usdt.SpecsMap, m.KeySize, m.ValueSize, usdt.SpecSize)
	}
	if ip := spec.Maps[usdt.IPMap]; ip.KeySize != 8 || ip.ValueSize != 4 {
		t.Fatalf("%s: key %d value %d bytes, want 8 and 4", usdt.IPMap, ip.KeySize, ip.ValueSize)
	}
	offsets := func(typ btf.Type) map[string]uint32 {
		st, ok := btf.UnderlyingType(typ).(*btf.Struct)
		if !ok {
			t.Fatalf("%v is not a struct", typ)
		}
		out := map[string]uint32{}
		for _, mb := range st.Members {
			out[mb.Name] = mb.Offset.Bytes()
		}
		return out
	}
	if got, want := offsets(m.Value), map[string]uint32{"args": 0, "usdt_cookie": 192, "arg_cnt": 200}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("struct __bpf_usdt_spec offsets %v, want %v", got, want)
	}
	var arg *btf.Struct
	must(t, spec.Types.TypeByName("__bpf_usdt_arg_spec", &arg))
	if got, want := offsets(arg), map[string]uint32{"val_off": 0, "arg_type": 8, "reg_off": 12, "arg_signed": 14, "arg_bitshift": 15}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("struct __bpf_usdt_arg_spec offsets %v, want %v", got, want)
	}
}
