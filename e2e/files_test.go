package e2e

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// TestBadFiles runs --config.check with a NAME.yaml, NAME.bpf.o or
// --btf.path that is not a plain file of a sane size: each must fail at
// once with an error naming the config and the file once, never block (a
// FIFO) or read until memory runs out (/dev/zero).
func TestBadFiles(t *testing.T) {
	good := readFile(t, callsYAML)
	fifo := func(path string) error { return syscall.Mkfifo(path, 0o644) }
	zero := func(path string) error { return os.Symlink("/dev/zero", path) }
	dir := func(path string) error { return os.Mkdir(path, 0o755) }
	socket := func(path string) error {
		ln, err := net.Listen("unix", path)
		if err == nil {
			ln.(*net.UnixListener).SetUnlinkOnClose(false)
			ln.Close()
		}
		return err
	}
	huge := func(path string) error {
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			return err
		}
		return os.Truncate(path, 17<<20)
	}
	for _, tc := range []struct {
		name      string
		yaml, obj func(string) error // nil: a good NAME.yaml, NAME.bpf.o
		btf       func(string) error // nil: no --btf.path
		want      []string
	}{
		{name: "yaml is a FIFO", yaml: fifo, want: []string{`config \"x\"`, "x.yaml: not a regular file: it is a named pipe (FIFO)"}},
		{name: "yaml is /dev/zero", yaml: zero, want: []string{`config \"x\"`, "x.yaml: not a regular file: it is a character device"}},
		{name: "yaml is a directory", yaml: dir, want: []string{`config \"x\"`, "x.yaml: not a regular file: it is a directory"}},
		{name: "yaml is a socket", yaml: socket, want: []string{`config \"x\"`, "it is a socket"}},
		{name: "yaml too large", yaml: huge, want: []string{`config \"x\"`, "x.yaml: file too large: 17 MiB, over the limit of 16 MiB"}},
		{name: "object is a FIFO", obj: fifo, want: []string{"x.bpf.o: not a regular file: it is a named pipe (FIFO)"}},
		{name: "object is /dev/zero", obj: zero, want: []string{"x.bpf.o: not a regular file: it is a character device"}},
		{name: "BTF is a FIFO", btf: fifo, want: []string{"--btf.path", "btf: not a regular file: it is a named pipe (FIFO)"}},
		{name: "BTF is /dev/zero", btf: zero, want: []string{"--btf.path", "btf: not a regular file: it is a character device"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			setup := func(create func(string) error, path string, good func()) {
				if create == nil {
					good()
				} else if err := create(path); err != nil {
					t.Fatal(err)
				}
			}
			setup(tc.yaml, filepath.Join(d, "x.yaml"), func() { writeFile(t, filepath.Join(d, "x.yaml"), good) })
			setup(tc.obj, filepath.Join(d, "x.bpf.o"), func() { compileBPF(t, "good", d, "x") })
			args := []string{"--config.dir=" + d, "--config.names=x"}
			if tc.btf != nil {
				setup(tc.btf, filepath.Join(d, "btf"), nil)
				args = append(args, "--btf.path="+filepath.Join(d, "btf"))
			}
			out, ok := check(t, args...)
			if ok {
				t.Fatalf("--config.check succeeded, want failure:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if n := strings.Count(out, d+"/x."); n > 1 {
				t.Errorf("output names the file %d times, want once:\n%s", n, out)
			}
		})
	}
}

// TestBadFlags: every flag is checked before anything is loaded, with or
// without --config.check; before, --web.telemetry-path=metrics passed the
// check and then panicked once every config was attached.
func TestBadFlags(t *testing.T) {
	testenv.Privileged(t)
	d := t.TempDir()
	writeFile(t, filepath.Join(d, "x.yaml"), readFile(t, callsYAML))
	compileBPF(t, "good", d, "x")
	for _, tc := range []struct {
		name string
		flag string
		want string
	}{
		{"path without slash", "--web.telemetry-path=metrics", `--web.telemetry-path "metrics" does not start with /`},
		{"root path", "--web.telemetry-path=/", `--web.telemetry-path "/" is the landing page`},
		{"empty path", "--web.telemetry-path=", "--web.telemetry-path is empty"},
		{"bad namespace", "--metrics.namespace=bad-ns!", `--metrics.namespace "bad-ns!": want letters, digits and _`},
		{"empty names", "--config.names=", "--config.names: empty list"},
		{"only commas", "--config.names=,,,", "--config.names: empty list"},
		{"bad listen address", "--web.listen-address=localhost", "--web.listen-address \"localhost\""},
		{"negative max requests", "--web.max-requests=-1", "--web.max-requests -1: want 0 or more"},
	} {
		for _, mode := range []string{"--config.check", "--config.strict"} {
			t.Run(tc.name+" "+mode, func(t *testing.T) {
				args := []string{"--config.dir=" + d, mode}
				if !strings.HasPrefix(tc.flag, "--config.names") {
					args = append(args, "--config.names=x")
				}
				if !strings.HasPrefix(tc.flag, "--web.listen-address") {
					args = append(args, "--web.listen-address=127.0.0.1:0")
				}
				out, code := runEbpfmon(t, append(args, tc.flag)...)
				if code != 2 || !strings.Contains(out, tc.want) || strings.Contains(out, "config loaded") || strings.Contains(out, "panic") {
					t.Errorf("exit %d, want 2 before loading anything, with %q:\n%s", code, tc.want, out)
				}
			})
		}
	}
}

// runEbpfmon runs ebpfmon until it exits (it is killed after 30s, which
// fails the test) and returns its output and exit status.
func runEbpfmon(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ebpfmonBin, args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("ebpfmon %s still running after 30s:\n%s", strings.Join(args, " "), out)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}
