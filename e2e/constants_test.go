package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// constsYAML is the config of testdata/consts.bpf.c: count the execs of
// command comm, weight each.
func constsYAML(comm string, weight int) string {
	return fmt.Sprintf(`metrics:
  counters:
    - name: const_execs_total
      help: Execs of the command named by the comm constant, times weight.
constants:
  comm: %q
  weight: %d
`, comm, weight)
}

// commands copies true(1) into dir under each name, so that running one
// makes an exec whose comm is that name.
func commands(t *testing.T, dir string, names ...string) map[string]string {
	t.Helper()
	src, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range names {
		out[n] = filepath.Join(dir, n)
		if err := os.WriteFile(out[n], bin, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func runTimes(t *testing.T, path string, n int) {
	t.Helper()
	for range n {
		if out, err := exec.Command(path).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, out)
		}
	}
}

// TestConstantsReload sets a program's filter from the YAML (which
// command's execs it counts, and how much each adds), then changes both
// in the YAML and sends SIGHUP: the config is reopened with the new
// values and counts exactly the other command's execs.
func TestConstantsReload(t *testing.T) {
	testenv.Privileged(t)
	dir := t.TempDir()
	// Names unique to this test process, at most 15 bytes (a task's comm).
	a, b := fmt.Sprintf("ebpfmon%d-a", os.Getpid()%100000), fmt.Sprintf("ebpfmon%d-b", os.Getpid()%100000)
	cmds := commands(t, t.TempDir(), a, b)
	writeFile(t, filepath.Join(dir, "consts.yaml"), constsYAML(a, 1))
	compileBPF(t, "consts", dir, "consts")
	in := start(t, "--config.dir="+dir, "--no-config.watch", "--config.strict")

	runTimes(t, cmds[a], 3)
	runTimes(t, cmds[b], 5)
	count := func(want float64) func(metrics) bool {
		return func(ms metrics) bool { return ms.sum("ebpfmon_const_execs_total", nil) == want }
	}
	before := in.eventually(t, "3 execs of "+a, nil, count(3))

	writeFile(t, filepath.Join(dir, "consts.yaml"), constsYAML(b, 2))
	if err := in.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	after := in.reloadsSeen(t, 1)
	if v := after.sum("ebpfmon_config_last_reload_successful", nil); v != 1 {
		t.Fatalf("config_last_reload_successful = %v, want 1:\n%s", v, in.logText())
	}
	if x, y := programIDs(before, "consts"), programIDs(after, "consts"); len(y) == 0 || sameIDs(x, y) {
		t.Fatalf("programs %v before the reload, %v after: want new ones", x, y)
	}
	runTimes(t, cmds[a], 3)
	runTimes(t, cmds[b], 5)
	in.eventually(t, "5 execs of "+b+" weighing 2", nil, count(10))
}
