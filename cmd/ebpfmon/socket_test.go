package main

import (
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

// buildEbpfmon builds the ebpfmon binary into a temporary directory.
func buildEbpfmon(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Unavailable(t, "no go command to build ebpfmon: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "ebpfmon")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// tinyConfig compiles testdata/web/tiny.bpf.c into a new config directory
// holding it and tiny.yaml.
func tinyConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	testenv.CompileBPF(t, filepath.Join("testdata", "web", "tiny.bpf.c"), filepath.Join(dir, "tiny.bpf.o"))
	yaml, err := os.ReadFile(filepath.Join("testdata", "web", "tiny.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tiny.yaml"), yaml, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// activated is ebpfmon started as systemd starts a socket-activated
// service: the socket as fd 3, LISTEN_FDS=1 and LISTEN_PID its own pid
// (set by the shell it replaces).
type activated struct {
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan error // cmd.Wait's result
}

// startActivated starts bin with args and fd as fd 3 (nil: none), and
// listenPID as LISTEN_PID ("": the child's pid).
func startActivated(t *testing.T, bin string, fd *os.File, listenPID string, args ...string) *activated {
	t.Helper()
	pid := `$$`
	if listenPID != "" {
		pid = listenPID
	}
	cmd := exec.Command("sh", append([]string{"-c", `LISTEN_PID=` + pid + ` exec "$0" "$@"`, bin}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LISTEN_") && !strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "LISTEN_FDS=1")
	if fd != nil {
		cmd.ExtraFiles = []*os.File{fd}
	}
	a := &activated{cmd: cmd, log: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = a.log, a.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-a.done
	})
	return a
}

// wait waits for the process to exit and returns its exit status.
func (a *activated) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-a.done:
		a.done <- err // for the cleanup
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return a.cmd.ProcessState.ExitCode()
	case <-time.After(bound):
		t.Fatalf("ebpfmon still running %s after it should have exited; log:\n%s", bound, a.log)
		return -1
	}
}

// listenerFile binds 127.0.0.1 as the .socket unit would and returns the
// socket's address and a file for it to pass as fd 3. The test keeps no
// copy: once the child has it, the caller closes the file, so that a child
// that exits takes the socket with it and a scrape fails at once instead
// of waiting in the backlog.
func listenerFile(t *testing.T) (string, *os.File) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return ln.Addr().String(), f
}

// TestSystemdSocket: with --web.systemd-socket, ebpfmon serves on the
// socket systemd passes (fd 3, LISTEN_FDS, LISTEN_PID), plain or with
// TLS and basic auth, instead of binding --web.listen-address (an address
// it cannot bind here, so that binding it fails at once).
func TestSystemdSocket(t *testing.T) {
	testenv.Root(t)
	bin, dir, p := buildEbpfmon(t), tinyConfig(t), newPKI(t)
	for _, tc := range []struct {
		name      string
		webConfig string
		scrape    scrape
	}{
		{"plain", "", scrape{scheme: "http"}},
		{"tls and basic auth", p.webConfigFile(t, true, true, false), scrape{scheme: "https", trust: true, user: "prometheus", pass: "right"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, fd := listenerFile(t)
			args := []string{"--config.dir=" + dir, "--web.systemd-socket", "--web.listen-address=192.0.2.1:9435", "--no-config.watch"}
			if tc.webConfig != "" {
				args = append(args, "--web.config.file="+tc.webConfig)
			}
			a := startActivated(t, bin, fd, "", args...)
			fd.Close()
			status, body, err := tc.scrape.get(addr, p)
			if err != nil || status != 200 || !strings.Contains(body, "ebpfmon_tiny_switches_total ") {
				t.Fatalf("scrape through the passed socket: status %d, err %v, want 200 with ebpfmon_tiny_switches_total; log:\n%s\nbody:\n%.2000s", status, err, a.log, body)
			}
			if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := a.wait(t); code != 0 {
				t.Errorf("exit status %d after SIGTERM, want 0; log:\n%s", code, a.log)
			}
			// Read once it has exited: Wait has copied all of its output.
			if !strings.Contains(a.log.String(), "msg=listening address="+addr+" ") {
				t.Errorf("log does not say it listens on %s:\n%s", addr, a.log)
			}
		})
	}
	t.Run("fd 3 not a socket", func(t *testing.T) {
		fd, err := os.Open(filepath.Join(dir, "tiny.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		defer fd.Close()
		a := startActivated(t, bin, fd, "", "--config.dir="+dir, "--web.systemd-socket", "--web.listen-address=192.0.2.1:9435", "--no-config.watch")
		if code := a.wait(t); code != 1 || !strings.Contains(a.log.String(), "fd 3 is not a listening stream socket") {
			t.Errorf("exit status %d, want 1 and an error saying fd 3 is not a listening socket; log:\n%s", code, a.log)
		}
	})
}

// TestSystemdSocketNotPassed: --web.systemd-socket with sockets passed
// to another process (LISTEN_PID) is an error of the flags (status 2),
// before anything is loaded.
func TestSystemdSocketNotPassed(t *testing.T) {
	bin := buildEbpfmon(t)
	_, fd := listenerFile(t)
	a := startActivated(t, bin, fd, "1", "--config.dir="+t.TempDir(), "--web.systemd-socket")
	const want = "--web.systemd-socket: LISTEN_PID=1 is not this process"
	if code := a.wait(t); code != 2 || !strings.Contains(a.log.String(), want) {
		t.Errorf("exit status %d, want 2 and %q; log:\n%s", code, want, a.log)
	}
}

// TestCheckSystemdSocket: the environment --web.systemd-socket needs.
func TestCheckSystemdSocket(t *testing.T) {
	for _, tc := range []struct {
		name           string
		enabled        bool
		listenPID, fds string
		err            string // "": accepted
	}{
		{name: "flag off, nothing set"},
		{name: "flag off, set for another process", listenPID: "1", fds: "1"},
		{name: "one socket", enabled: true, listenPID: "42", fds: "1"},
		{name: "two sockets", enabled: true, listenPID: "42", fds: "2"},
		{name: "nothing set", enabled: true, err: "LISTEN_PID and LISTEN_FDS are not both set"},
		{name: "no LISTEN_FDS", enabled: true, listenPID: "42", err: "LISTEN_PID and LISTEN_FDS are not both set"},
		{name: "another process", enabled: true, listenPID: "1", fds: "1", err: "LISTEN_PID=1 is not this process (42)"},
		{name: "no sockets", enabled: true, listenPID: "42", fds: "0", err: `LISTEN_FDS="0", want the number of sockets`},
		{name: "not a number", enabled: true, listenPID: "42", fds: "x", err: `LISTEN_FDS="x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkSystemdSocket(tc.enabled, 42, tc.listenPID, tc.fds)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "--web.systemd-socket: ")):
				t.Errorf("err = %v, want --web.systemd-socket: ...%s...", err, tc.err)
			}
		})
	}
}
