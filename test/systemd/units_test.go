package systemd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// maxExposure is the highest `systemd-analyze security` exposure the
// service may have (0 safest, 10 unsafe): 2.4 with the unit as written, the
// rest is what loading BPF needs (capabilities, kallsyms, the host's
// network and /proc).
const maxExposure = 3.0

// installed is an install with PREFIX and SYSCONFDIR in a temporary
// directory and no DESTDIR: the units and flags name the paths the files
// really are at, so that systemd-analyze finds ExecStart's binary and the
// hardening test runs ExecStart as written. The directories are 0755, as
// /usr/local and /etc are, for an unprivileged user to read.
type installed struct {
	root, prefix, sysconf string
	service, socket       string
}

func installTemp(t *testing.T) installed {
	t.Helper()
	root, err := os.MkdirTemp("", "ebpfmon-install")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	in := installed{root: root, prefix: filepath.Join(root, "usr"), sysconf: filepath.Join(root, "etc")}
	install(t, "PREFIX="+in.prefix, "SYSCONFDIR="+in.sysconf)
	unitDir := filepath.Join(in.prefix, "lib", "systemd", "system")
	in.service, in.socket = filepath.Join(unitDir, "ebpfmon.service"), filepath.Join(unitDir, "ebpfmon.socket")
	return in
}

func systemdAnalyze(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testenv.Unavailable(t, "systemd-analyze not installed (make setup installs the systemd package)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	return string(out), err
}

// TestUnitsVerify runs systemd-analyze verify on the installed units: every
// directive known and valid, the binaries of ExecStart and ExecReload
// there, the socket and its service agreeing. It needs no systemd as PID 1.
func TestUnitsVerify(t *testing.T) {
	in := installTemp(t)
	out, err := systemdAnalyze(t, "verify", "--man=no", in.service, in.socket)
	if err != nil || out != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestUnitsSecurity prints the service's `systemd-analyze security`
// exposure and fails above maxExposure.
func TestUnitsSecurity(t *testing.T) {
	in := installTemp(t)
	out, err := systemdAnalyze(t, "security", "--offline=yes", "--no-pager", in.service)
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for ebpfmon.service: ([0-9.]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	level, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("systemd-analyze security: exposure %.1f (0 safest, 10 unsafe; at most %.1f)\n%s", level, maxExposure, out)
	if level > maxExposure {
		t.Errorf("exposure %.1f, want at most %.1f", level, maxExposure)
	}
}
