package caps

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// childEnv makes the test binary a helper process instead of running tests:
// "keep:SET" drops to SET with Keep, "tracepoint" loads and attaches a
// tracepoint program.
const childEnv = "EBPFMON_CAPS_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

func child(mode string) int {
	var err error
	switch {
	case strings.HasPrefix(mode, "keep:"):
		err = keepChild(strings.TrimPrefix(mode, "keep:"))
	case mode == "tracepoint":
		err = tracepointChild()
	default:
		err = fmt.Errorf("unknown %s %q", childEnv, mode)
	}
	if err != nil {
		fmt.Println("ERROR:", err)
		return 1
	}
	return 0
}

// threads starts n goroutines that each hold an OS thread until release
// is closed, and waits until the process has at least min threads.
func threads(n, min int, release chan struct{}) error {
	for range n {
		go func() {
			runtime.LockOSThread()
			<-release
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		if len(tasks) >= min {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d threads", len(tasks))
		}
	}
}

// keepChild spreads goroutines over many threads, drops capabilities to
// set, starts more threads, checks that a dropped capability cannot be
// raised again, prints KEPT and waits for its stdin to close while the
// parent inspects every thread.
func keepChild(set string) error {
	keep, err := Parse(set)
	if err != nil {
		return err
	}
	release := make(chan struct{})
	defer close(release)
	if err := threads(8, 9, release); err != nil {
		return err
	}
	if err := Keep(keep); err != nil {
		return err
	}
	if err := threads(4, 13, release); err != nil {
		return err
	}
	hdr := &unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(hdr, &data[0]); err != nil {
		return err
	}
	data[0].Effective |= 1 << unix.CAP_SYS_ADMIN
	data[0].Permitted |= 1 << unix.CAP_SYS_ADMIN
	if err := unix.Capset(hdr, &data[0]); !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("raising cap_sys_admin again: %v, want EPERM", err)
	}
	fmt.Println("KEPT")
	_, err = io.Copy(io.Discard, os.Stdin)
	return err
}

// tracepointChild loads a program counting getpid calls, attaches it to
// the syscalls/sys_enter_getpid tracepoint, calls getpid and checks the
// count: what a config with a tracepoint/ section does.
func tracepointChild() error {
	_ = rlimit.RemoveMemlock() // needed before 5.11 only
	counter, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		return fmt.Errorf("map: %w", err)
	}
	defer counter.Close()
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.TracePoint,
		License:      "GPL",
		Instructions: testenv.CounterProg(counter, 0),
	})
	if err != nil {
		return fmt.Errorf("program: %w", err)
	}
	defer prog.Close()
	l, err := link.Tracepoint("syscalls", "sys_enter_getpid", prog, nil)
	if err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	defer l.Close()
	for range 3 {
		syscall.Getpid()
	}
	var n uint64
	if err := counter.Lookup(uint32(0), &n); err != nil {
		return fmt.Errorf("lookup: %w", err)
	}
	if n < 3 {
		return fmt.Errorf("%d getpid calls counted, want at least 3", n)
	}
	fmt.Println("ATTACHED, count", n)
	return nil
}

// cgoFree reports whether this binary can change every thread's
// credentials, i.e. does not link cgo (-race does).
func cgoFree() bool {
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, 0, 0)
	return errno != syscall.ENOTSUP
}

// helperBinary returns a copy of this package's test binary, built with
// CGO_ENABLED=0 when this one links cgo, in a directory any user can read.
func helperBinary(t *testing.T, needCgoFree bool) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ebpfmon-caps")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "caps.test")
	if needCgoFree && !cgoFree() {
		if _, err := exec.LookPath("go"); err != nil {
			testenv.Unavailable(t, "this test binary links cgo and there is no go command to build one without: %v", err)
		}
		build := exec.Command("go", "test", "-c", "-o", bin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go test -c with CGO_ENABLED=0: %v\n%s", err, out)
		}
		return bin
	}
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestKeep drops capabilities in a child process with many threads and
// checks every thread's /proc status from outside.
func TestKeep(t *testing.T) {
	testenv.Root(t)
	bin := helperBinary(t, true)
	parent, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	if !parent.Effective.Has(unix.CAP_SETPCAP) {
		testenv.Unavailable(t, "needs cap_setpcap to test the bounding set")
	}
	for _, keep := range []Set{0, Of(unix.CAP_BPF, unix.CAP_PERFMON), Of(unix.CAP_SYSLOG, unix.CAP_SYS_RESOURCE)} {
		t.Run(keep.String(), func(t *testing.T) {
			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(), childEnv+"=keep:"+keep.String())
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			defer stdin.Close()
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || line != "KEPT\n" {
				t.Fatalf("child: %q, %v", line, err)
			}

			want := keep & parent.Permitted // cap_sys_resource may be missing even for root
			tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", cmd.Process.Pid))
			if err != nil || len(tasks) < 13 {
				t.Fatalf("child threads: %d, %v; want at least 13", len(tasks), err)
			}
			for _, path := range tasks {
				st, err := ReadStatus(path)
				if err != nil {
					t.Fatal(err)
				}
				if st.Effective != want || st.Permitted != want || st.Inheritable&^want != 0 ||
					st.Ambient != 0 || st.Bounding != want&parent.Bounding || !st.NoNewPrivs {
					t.Errorf("%s: %+v; want effective, permitted and bounding %v, nothing ambient, no_new_privs", path, st, want)
				}
			}
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("child: %v", err)
			}
		})
	}
}

// tracefsOpenToOthers reports whether a user other than root can read the
// id file of a tracepoint without capabilities (tracefs modes vary between
// kernels; recent ones make it root-only).
func tracefsOpenToOthers() bool {
	path := "/sys/kernel/tracing"
	for _, part := range []string{"", "events", "syscalls", "sys_enter_getpid"} {
		path = filepath.Join(path, part)
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
	}
	fi, err := os.Stat(filepath.Join(path, "id"))
	return err == nil && fi.Mode().Perm()&0o004 != 0
}

// documentedTracepointCaps is what caps/doc.go says a tracepoint/ config
// needs as a user other than root, on this kernel.
func documentedTracepointCaps(t *testing.T) Set {
	last, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if _, err := fmt.Sscan(string(last), &n); err != nil || n < unix.CAP_BPF {
		testenv.Unavailable(t, "kernel without cap_bpf (before 5.8; cap_last_cap %q): the documented set there is cap_sys_admin", last)
	}
	set := Of(unix.CAP_BPF, unix.CAP_PERFMON)
	if !tracefsOpenToOthers() {
		set |= Of(unix.CAP_DAC_READ_SEARCH)
	}
	if !testenv.KernelAtLeast(t, 5, 11) {
		set |= Of(unix.CAP_SYS_RESOURCE) // BPF memory is charged to RLIMIT_MEMLOCK
	}
	return set
}

// TestDocumentedCapsTracepoint runs a helper as uid 65534 with only the
// capabilities the package documentation lists for tracepoint/ sections,
// and checks that it loads, attaches and counts; and that leaving any one
// of them out fails.
func TestDocumentedCapsTracepoint(t *testing.T) {
	testenv.Privileged(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		testenv.Unavailable(t, "setpriv (util-linux) not found: %v", err)
	}
	documented := documentedTracepointCaps(t)
	parent, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	if missing := documented &^ parent.Permitted; missing != 0 {
		testenv.Unavailable(t, "this process lacks %s", missing)
	}
	bin := helperBinary(t, false)
	run := func(set Set) (string, error) {
		list := "-all"
		for _, c := range set.Caps() {
			list += ",+" + strings.TrimPrefix(c.String(), "cap_")
		}
		cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
			"--inh-caps="+list, "--ambient-caps="+list, "--bounding-set="+list, bin)
		cmd.Env = append(os.Environ(), childEnv+"=tracepoint")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run(documented)
	if err != nil {
		t.Fatalf("with %s: %v\n%s", documented, err, out)
	}
	t.Logf("with %s: %s", documented, strings.TrimSpace(out))
	for _, c := range documented.Caps() {
		without := documented &^ Of(c)
		out, err := run(without)
		if err == nil {
			t.Errorf("without %s it still works: %s is not needed\n%s", c, c, out)
			continue
		}
		t.Logf("without %s: %s", c, strings.TrimSpace(out))
	}
}

// TestWithoutEffective checks that fn runs with no effective capability and
// that the process has them all back afterwards.
func TestWithoutEffective(t *testing.T) {
	testenv.Root(t)
	before, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	var inside State
	err = WithoutEffective(func() error {
		var err error
		inside, err = ReadStatus("/proc/thread-self/status")
		if err != nil {
			return err
		}
		// setgroups needs cap_setgid, which root has.
		return unix.Setgroups([]int{0})
	})
	if !errors.Is(err, unix.EPERM) {
		t.Errorf("setgroups without effective capabilities: %v, want EPERM", err)
	}
	if inside.Effective != 0 || inside.Permitted != before.Permitted {
		t.Errorf("inside: %+v; want no effective capability and the same permitted set %v", inside, before.Permitted)
	}
	after, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("after: %+v, before: %+v", after, before)
	}
	tasks, _ := filepath.Glob("/proc/self/task/*/status")
	for _, path := range tasks {
		if st, err := ReadStatus(path); err == nil && st.Effective != before.Effective {
			t.Errorf("%s: effective %v, want %v: a thread was left without its capabilities", path, st.Effective, before.Effective)
		}
	}
}
