package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

const callsYAML = "testdata/calls.yaml"

// compileBPF builds testdata/SRC.bpf.c into dir/NAME.bpf.o.
func compileBPF(t *testing.T, src, dir, name string) {
	t.Helper()
	testenv.CompileBPF(t, filepath.Join("testdata", src+".bpf.c"), filepath.Join(dir, name+".bpf.o"))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// check runs ebpfmon --config.check and returns its output and whether it
// succeeded.
func check(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	testenv.Privileged(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, ebpfmonBin, append([]string{"--config.check"}, args...)...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("ebpfmon --config.check timed out:\n%s", out)
	}
	if strings.Contains(string(out), "panic:") {
		t.Fatalf("ebpfmon panicked:\n%s", out)
	}
	return string(out), err == nil
}

// checkFails runs ebpfmon --config.check on dir and fails the test unless
// the check fails with output holding every string of want.
func checkFails(t *testing.T, dir string, want ...string) {
	t.Helper()
	out, ok := check(t, "--config.dir="+dir)
	if ok {
		t.Fatalf("check passed:\n%s", out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestFentryHere loads an fentry object: it must work where the kernel has
// BPF trampolines and otherwise fail with a message that says why.
func TestFentryHere(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "f.yaml"), readFile(t, callsYAML))
	compileBPF(t, "fentry", dir, "f")
	out, ok := check(t, "--config.dir="+dir, "--config.names=f", "--config.strict")
	if ok {
		t.Logf("fentry loads and attaches on this kernel")
		return
	}
	for _, w := range []string{"on_nanosleep", "fentry/fexit", "BPF trampolines", "use a tp_btf"} {
		if !strings.Contains(out, w) {
			t.Errorf("fentry failure does not mention %q:\n%s", w, out)
		}
	}
	t.Logf("fentry unavailable here, reported as:\n%s", out)
}
