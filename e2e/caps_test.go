package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// TestDocumentedCapabilities runs ebpfmon as uid 65534 with only the
// capabilities README.md documents for a tracepoint + ksym config (timers)
// and an event counter (procevents), checks it serves live metrics, and
// that afterwards it holds no capability at all (--capabilities.keep=auto
// on a 6.5+ kernel; cap_bpf where unprivileged BPF is disabled earlier;
// --no-config.reload, as reloads keep what loading needs).
func TestDocumentedCapabilities(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		testenv.Unavailable(t, "setpriv not installed (Debian util-linux)")
	}
	// uid 65534 must be able to open the binary and the examples.
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"timers.yaml", "timers.bpf.o", "procevents.yaml", "procevents.bpf.o"} {
		writeFile(t, filepath.Join(dir, f), readFile(t, filepath.Join(examplesDir, f)))
	}
	bin := filepath.Join(dir, "ebpfmon")
	writeFile(t, bin, readFile(t, ebpfmonBin))
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	caps := "+bpf,+perfmon,+dac_read_search,+syslog"
	wrapper := []string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
		"--inh-caps=-all," + caps, "--ambient-caps=-all," + caps, "--bounding-set=-all," + caps, bin}
	in := startCmd(t, wrapper, "--config.dir="+dir, "--config.strict", "--no-config.reload")
	in.eventually(t, "timer functions and exec events as uid 65534", func() { _ = exec.Command("true").Run() }, func(ms metrics) bool {
		return len(ms.series("ebpfmon_timer_starts_total", nil)) > 0 && ms.sum("ebpfmon_exec_events_total", nil) > 0
	})
	status := readFile(t, "/proc/"+strconv.Itoa(in.cmd.Process.Pid)+"/status")
	if !strings.Contains(status, "\nUid:\t65534\t") {
		t.Fatalf("not running as 65534:\n%s", status)
	}
	for _, field := range []string{"CapEff", "CapPrm", "CapInh", "CapAmb"} {
		v := statusField(status, field)
		if v != "0000000000000000" && v != "0000008000000000" { // none, or cap_bpf (bit 39)
			t.Errorf("%s = %s after the drop, want none (or cap_bpf on kernels that need it)", field, v)
		}
	}
}

func statusField(status, name string) string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, name+":\t"); ok {
			return v
		}
	}
	return ""
}
