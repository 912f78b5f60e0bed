package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// TestPinsSurviveRestart runs ebpfmon with --bpf.pin-path on a bpffs of
// the test's own, counts execs, stops it and starts it again: the counter
// goes on from where it was (Prometheus sees no reset), across a reload
// too; --bpf.reset-pins starts it from zero, and --config.check leaves
// the pins alone.
func TestPinsSurviveRestart(t *testing.T) {
	pc := pinnedConsts(t, "p")
	dir, name, cmd, args := pc.dir, pc.name, pc.cmd, pc.args
	execs := func(want float64) func(metrics) bool {
		return func(ms metrics) bool { return ms.sum("ebpfmon_const_execs_total", nil) == want }
	}
	pinned := func(t *testing.T, ms metrics, outcome string, want float64) {
		t.Helper()
		if got := ms.sum("ebpfmon_pinned_maps", map[string]string{"config": "consts", "outcome": outcome}); got != want {
			t.Errorf("ebpfmon_pinned_maps{outcome=%q} = %v, want %v", outcome, got, want)
		}
	}

	in := start(t, args...)
	runTimes(t, cmd, 3)
	first := in.eventually(t, "3 execs", nil, execs(3))
	pinned(t, first, "created", 1)
	in.stop(t)

	in = start(t, args...)
	again := in.scrape(t)
	if v := again.sum("ebpfmon_const_execs_total", nil); v < 3 {
		t.Fatalf("after a restart the counter is %v, want at least the 3 seen before:\n%s", v, in.logText())
	}
	pinned(t, again, "reused", 1)
	pinned(t, again, "created", 0)
	runTimes(t, cmd, 2)
	in.eventually(t, "5 execs after the restart", nil, execs(5))

	// A reload (the weight constant changed) opens the new version against
	// the same pin.
	writeFile(t, filepath.Join(dir, "consts.yaml"), constsYAML(name, 10))
	if err := in.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if v := in.reloadsSeen(t, 1).sum("ebpfmon_const_execs_total", nil); v < 5 {
		t.Fatalf("after a reload the counter is %v, want at least 5:\n%s", v, in.logText())
	}
	runTimes(t, cmd, 1)
	in.eventually(t, "5 execs and one weighing 10", nil, execs(15))
	in.stop(t)

	if out, ok := check(t, append(args, "--bpf.reset-pins")...); !ok {
		t.Fatalf("--config.check failed:\n%s", out)
	}
	in = start(t, args...)
	if v := in.scrape(t).sum("ebpfmon_const_execs_total", nil); v != 15 {
		t.Errorf("after --config.check --bpf.reset-pins the counter is %v, want 15 (a check leaves the pins alone)", v)
	}
	in.stop(t)

	in = start(t, append(args, "--bpf.reset-pins")...)
	ms := in.scrape(t)
	if v := ms.sum("ebpfmon_const_execs_total", nil); v != 0 {
		t.Errorf("with --bpf.reset-pins the counter is %v, want 0", v)
	}
	pinned(t, ms, "created", 1)
	if !strings.Contains(in.logText(), "pins removed (--bpf.reset-pins)") {
		t.Errorf("the log does not say the pins were removed:\n%s", in.logText())
	}
}

// TestPinPathNotBPFFS checks ebpfmon refuses a --bpf.pin-path outside a
// bpf filesystem before loading anything, naming the flag and the fix.
func TestPinPathNotBPFFS(t *testing.T) {
	dir := t.TempDir()
	out, ok := check(t, "--config.dir="+examplesDir, "--bpf.pin-path="+dir)
	if ok {
		t.Fatalf("ebpfmon accepted a --bpf.pin-path outside bpffs:\n%s", out)
	}
	for _, want := range []string{"--bpf.pin-path " + dir, "is not on a bpf filesystem", "mount -t bpf bpf /sys/fs/bpf"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestPinsSecondProcess starts a second ebpfmon on the pin directory of a
// running one: both would attach their programs to the same pinned maps
// and count every exec twice, so the second must exit at once, saying
// why, and the first must go on counting each exec once.
func TestPinsSecondProcess(t *testing.T) {
	pc := pinnedConsts(t, "2")
	pinPath, cmd, args := pc.pinPath, pc.cmd, pc.args
	first := start(t, args...)

	out, served := runUntilServing(t, args...)
	if served {
		t.Errorf("a second ebpfmon on the same --bpf.pin-path served:\n%s", out)
	}
	for _, want := range []string{"--bpf.pin-path " + pinPath, "another process", "count every event twice", "stop the other one first"} {
		if !strings.Contains(out, want) {
			t.Errorf("the second ebpfmon's output lacks %q:\n%s", want, out)
		}
	}
	runTimes(t, cmd, 3)
	first.eventually(t, "3 execs", nil, func(ms metrics) bool { return ms.sum("ebpfmon_const_execs_total", nil) >= 3 })
	if v := first.scrape(t).sum("ebpfmon_const_execs_total", nil); v != 3 {
		t.Errorf("3 execs counted as %v", v)
	}
}

// runUntilServing runs ebpfmon with args and a loopback listen address
// until it exits, or until it serves (then it is killed), and returns its
// output and whether it served.
func runUntilServing(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, ebpfmonBin, append([]string{"--web.listen-address=127.0.0.1:0"}, args...)...)
	stderr, err := c.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	served := false
	s := bufio.NewScanner(stderr)
	for s.Scan() {
		out.WriteString(s.Text() + "\n")
		if listenRE.MatchString(s.Text()) {
			served = true
			_ = c.Process.Kill()
		}
	}
	_ = c.Wait()
	return out.String(), served
}

// pinnedRun is the consts config served with its maps pinned: pinPath
// on a bpffs of the test's own, the config in dir counting the execs of
// cmd (named name), and the flags that serve it.
type pinnedRun struct {
	pinPath, dir, name, cmd string
	args                    []string
}

// pinnedConsts writes the consts config in a temporary directory, counting
// the execs of a command of the test's own named after suffix.
func pinnedConsts(t *testing.T, suffix string) pinnedRun {
	t.Helper()
	r := pinnedRun{pinPath: filepath.Join(testenv.BPFFS(t), "ebpfmon"), dir: t.TempDir()}
	r.name = fmt.Sprintf("ebpfmon%d-%s", os.Getpid()%100000, suffix)
	r.cmd = commands(t, t.TempDir(), r.name)[r.name]
	writeFile(t, filepath.Join(r.dir, "consts.yaml"), constsYAML(r.name, 1))
	compileBPF(t, "consts", r.dir, "consts")
	r.args = []string{"--config.dir=" + r.dir, "--no-config.watch", "--config.strict", "--bpf.pin-path=" + r.pinPath}
	return r
}
