// Package testenv holds helpers for tests that need root and a BPF-capable
// kernel. They skip with a reason when the machine cannot run them, unless
// EBPFMON_REQUIRE_PRIVILEGED=1 (set by .ci/run), which turns every such skip
// into a failure so CI can never pass by skipping.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"
)

// RequireEnv is the variable that turns skips into failures.
const RequireEnv = "EBPFMON_REQUIRE_PRIVILEGED"

// Unavailable skips the test, or fails it when RequireEnv is set.
func Unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv(RequireEnv) == "1" {
		tb.Fatalf("required by "+RequireEnv+"=1 but unavailable: "+format, args...)
	}
	tb.Skipf(format, args...)
}

// Root makes sure the test runs as root (kernel addresses, the whole
// cgroup tree), without needing BPF.
func Root(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		Unavailable(tb, "needs root")
	}
}

// CompileBPF builds the BPF C file src into obj the way the Makefile
// builds the examples: clang-19, the repository's include/ and the
// target's multiarch headers, then the extra flags (a later -target or
// -g0 overrides). Without clang-19 the test is Unavailable.
func CompileBPF(tb testing.TB, src, obj string, extra ...string) {
	tb.Helper()
	clang, err := exec.LookPath("clang-19")
	if err != nil {
		Unavailable(tb, "clang-19 not installed (make setup installs it)")
	}
	_, self, _, _ := runtime.Caller(0)
	include := filepath.Join(filepath.Dir(self), "..", "..", "include")
	arch := map[string]string{"amd64": "x86", "arm64": "arm64"}[runtime.GOARCH]
	multiarch := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[runtime.GOARCH]
	args := append([]string{"-target", "bpf", "-O2", "-g", "-mcpu=v3", "-D__TARGET_ARCH_" + arch,
		"-I", include, "-I/usr/include/" + multiarch, "-Wall"}, extra...)
	out, err := exec.Command(clang, append(args, "-c", src, "-o", obj)...).CombinedOutput()
	if err != nil {
		tb.Fatalf("clang %s: %v\n%s", src, err, out)
	}
}

// CounterProg returns instructions that add one to element 0 of counter (an
// array or hash with a u32 key and a u64 value) and return ret: the smallest
// program that proves a hook fired.
func CounterProg(counter *ebpf.Map, ret int32) asm.Instructions {
	return asm.Instructions{
		asm.StoreImm(asm.RFP, -4, 0, asm.Word), // key 0
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, counter.FD()),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Imm(asm.R1, 1),
		asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
		asm.Mov.Imm(asm.R0, ret).WithSymbol("out"),
		asm.Return(),
	}
}

// KernelAtLeast reports whether the running kernel is major.minor or later.
func KernelAtLeast(tb testing.TB, major, minor int) bool {
	tb.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		tb.Fatal(err)
	}
	var maj, mnr int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &maj, &mnr); err != nil {
		tb.Fatal(err)
	}
	return maj > major || maj == major && mnr >= minor
}

// OwnCgroup2Path returns this process's cgroup2 path, the "0::/path" line
// of /proc/self/cgroup.
func OwnCgroup2Path(tb testing.TB) string {
	tb.Helper()
	raw, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p
		}
	}
	Unavailable(tb, "/proc/self/cgroup has no cgroup2 line")
	return ""
}

// Privileged makes sure the test runs as root on a kernel that loads BPF
// programs and has bpffs and tracefs mounted.
func Privileged(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		Unavailable(tb, "needs root")
		return
	}
	if err := features.HaveProgramType(ebpf.TracePoint); err != nil {
		Unavailable(tb, "kernel cannot load BPF programs: %v", err)
		return
	}
	for _, m := range []struct{ dir, fs, probe string }{
		{"/sys/fs/bpf", "bpf", ""},
		{"/sys/kernel/tracing", "tracefs", "/sys/kernel/tracing/events"},
	} {
		if err := ensureMounted(m.dir, m.fs, m.probe); err != nil {
			Unavailable(tb, "mount %s at %s: %v", m.fs, m.dir, err)
			return
		}
	}
}

// ensureMounted mounts fs at dir unless it is there already (probe exists or
// dir's filesystem already is fs).
func ensureMounted(dir, fs, probe string) error {
	if probe != "" {
		if _, err := os.Stat(probe); err == nil {
			return nil
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err == nil && st.Type == unix.BPF_FS_MAGIC && fs == "bpf" {
		return nil
	}
	err := unix.Mount(fs, dir, fs, 0, "")
	if errors.Is(err, unix.EBUSY) {
		return nil
	}
	return err
}

// SpecialFiles makes, in dir, a FIFO and a symlink to /dev/zero: files
// that must be refused where a regular file is wanted, as reading the
// first blocks until a writer comes and the second never ends.
func SpecialFiles(tb testing.TB, dir string) (fifo, devZero string) {
	tb.Helper()
	fifo, devZero = filepath.Join(dir, "fifo"), filepath.Join(dir, "zero")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", devZero); err != nil {
		tb.Fatal(err)
	}
	return fifo, devZero
}

// BPFFS mounts a bpf filesystem of the test's own on a temporary
// directory and returns it: the pins made in it are the test's alone, and
// go with the unmount at the end of the test.
func BPFFS(tb testing.TB) string {
	tb.Helper()
	Privileged(tb)
	dir := tb.TempDir()
	if err := unix.Mount("bpf", dir, "bpf", 0, ""); err != nil {
		Unavailable(tb, "mount bpffs at %s: %v", dir, err)
	}
	tb.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			tb.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}
