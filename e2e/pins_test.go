package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// TestPinsSurviveRestart runs ebpfmon with --bpf.pin-path on a bpffs of
// the test's own, counts execs, stops it and starts it again: the counter
// goes on from where it was (Prometheus sees no reset), across a reload
// too; --bpf.reset-pins starts it from zero, and --config.check leaves
// the pins alone.
func TestPinsSurviveRestart(t *testing.T) {
	pinPath := filepath.Join(testenv.BPFFS(t), "ebpfmon")
	dir := t.TempDir()
	name := fmt.Sprintf("ebpfmon%d-p", os.Getpid()%100000)
	cmd := commands(t, t.TempDir(), name)[name]
	writeFile(t, filepath.Join(dir, "consts.yaml"), constsYAML(name, 1))
	compileBPF(t, "consts", dir, "consts")
	args := []string{"--config.dir=" + dir, "--no-config.watch", "--config.strict", "--bpf.pin-path=" + pinPath}
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
