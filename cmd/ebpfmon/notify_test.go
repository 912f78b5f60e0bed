package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/exporter"
	"github.com/ebpfmon/ebpfmon/internal/sdnotify"
	"github.com/ebpfmon/ebpfmon/internal/sdnotify/sdnotifytest"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
	"github.com/ebpfmon/ebpfmon/lifecycle"
)

// buildStaticEbpfmon builds the real binary, static as make build does, into a
// temporary directory.
func buildStaticEbpfmon(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ebpfmon")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a loopback address no one listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// httpGet returns the status and body of a GET of url, or the error.
func httpGet(url string) (int, string, error) {
	resp, err := (&http.Client{Timeout: bound}).Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// TestSystemdNotify runs the real binary with NOTIFY_SOCKET set to a
// socket the test opens: READY=1 comes once every config is loaded and
// the port serves (/-/ready and /metrics answer at once, with the
// configs), RELOADING=1 then READY=1 with the new status around a
// SIGHUP, STOPPING=1 on SIGTERM, and nothing claims readiness before.
func TestSystemdNotify(t *testing.T) {
	bin := buildStaticEbpfmon(t)
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		privileged bool
		files      []string // copied from examples/ into the config directory
		ready      string   // STATUS= of the first READY=1
		reloaded   string   // STATUS= of the READY=1 after a bad config is added
		loaded     string   // a line /metrics has at READY=1
	}{
		{name: "failed config", ready: "0 configs loaded, 1 failed: bad (see the log)", reloaded: "0 configs loaded, 2 failed: bad, bad2 (see the log)",
			loaded: `ebpfmon_config_loaded{config="bad"} 0`},
		{name: "example", privileged: true, files: []string{"syscalls.yaml", "syscalls.bpf.o"},
			ready: "1 configs loaded, 1 failed: bad (see the log)", reloaded: "1 configs loaded, 2 failed: bad, bad2 (see the log)",
			loaded: `ebpfmon_config_loaded{config="syscalls"} 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.privileged {
				testenv.Privileged(t)
			}
			dir := t.TempDir()
			for _, f := range tc.files {
				raw, err := os.ReadFile(filepath.Join(examples, f))
				if err != nil {
					testenv.Unavailable(t, "%v (make examples builds the objects)", err)
				}
				writeTestFile(t, filepath.Join(dir, f), string(raw))
			}
			writeTestFile(t, filepath.Join(dir, "bad.yaml"), "metrics: {counters: [{name: x, typo: 1}]}\n")
			runNotify(t, bin, dir, tc.ready, tc.reloaded, tc.loaded)
		})
	}
}

// runNotify starts bin on dir and walks it through start, reload and stop.
func runNotify(t *testing.T, bin, dir, ready, reloaded, loaded string) {
	ns := sdnotifytest.Listen(t, filepath.Join(t.TempDir(), "notify"))
	addr := freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--config.dir="+dir, "--web.listen-address="+addr, "--no-config.watch")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+ns.Name)
	var log lockedBuffer
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("ebpfmon's log:\n%s", log.String())
		}
	}()

	m := ns.Expect(t, "READY=1", bound, "RELOADING=1", "STOPPING=1")
	// At READY=1, at once: the port serves and every config is loaded.
	if code, body, err := httpGet("http://" + addr + "/-/ready"); err != nil || code != http.StatusOK {
		t.Fatalf("/-/ready at READY=1: %d %q %v", code, body, err)
	}
	code, body, err := httpGet("http://" + addr + "/metrics")
	if err != nil || code != http.StatusOK || !strings.Contains(body, loaded+"\n") {
		t.Fatalf("/metrics at READY=1: %d %v, want %q in:\n%s", code, err, loaded, body)
	}
	if !sdnotifytest.HasLine(m, "STATUS="+ready) {
		t.Errorf("READY=1 datagram %q, want STATUS=%s", m, ready)
	}

	writeTestFile(t, filepath.Join(dir, "bad2.yaml"), "not: [a, config\n")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	m = ns.Expect(t, "RELOADING=1", bound, "READY=1", "STOPPING=1")
	if !sdnotifytest.HasLine(m, "MONOTONIC_USEC=") {
		t.Errorf("RELOADING=1 datagram %q without MONOTONIC_USEC", m)
	}
	m = ns.Expect(t, "READY=1", bound, "RELOADING=1", "STOPPING=1")
	if !sdnotifytest.HasLine(m, "STATUS="+reloaded) {
		t.Errorf("READY=1 after the reload: %q, want STATUS=%s", m, reloaded)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ns.Expect(t, "STOPPING=1", bound, "READY=1", "RELOADING=1")
	if err := cmd.Wait(); err != nil {
		t.Errorf("ebpfmon exited with %v after SIGTERM, want 0", err)
	}
}

// testNotifier is a notifier sending to a socket the test opens, and an
// exporter without configs.
func testNotifier(t *testing.T) (*notifier, *sdnotifytest.Socket, *exporter.Exporter) {
	t.Helper()
	ns := sdnotifytest.Listen(t, filepath.Join(t.TempDir(), "notify"))
	t.Setenv(sdnotify.SocketEnv, ns.Name)
	logger := slog.New(slog.DiscardHandler)
	exp := exporter.New(lifecycle.Options{Namespace: "ebpfmon", Env: decoder.NewEnv(), Logger: logger})
	t.Cleanup(exp.Close)
	return newNotifier(logger), ns, exp
}

// TestNotifyAfterStopping: once STOPPING=1 is sent, a reload that ends
// (one running as SIGTERM came) says neither RELOADING=1 nor READY=1
// again; STATUS= still goes.
func TestNotifyAfterStopping(t *testing.T) {
	n, ns, exp := testNotifier(t)
	n.stopping()
	n.ready(exp)
	n.reload("SIGHUP", exp, func() {})
	n.status("marker")
	if m := ns.Next(t, "STOPPING=1", bound); !sdnotifytest.HasLine(m, "STOPPING=1") {
		t.Fatalf("first datagram %q, want STOPPING=1", m)
	}
	if m := ns.Next(t, "STATUS=marker", bound); m != "STATUS=marker\n" {
		t.Errorf("after STOPPING=1: %q, want only STATUS=marker", m)
	}
}

// TestReloadPairs: reloads asked for at once (SIGHUP, the watch and
// POST /-/reload run in their own goroutines) each send RELOADING=1 then
// READY=1, one reload after the other: systemd ends the reload state at
// the first READY=1, which must not come while another reload runs.
func TestReloadPairs(t *testing.T) {
	n, ns, exp := testNotifier(t)
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "bad.yaml"), "metrics: {counters: [{name: x, typo: 1}]}\n")
	rl := newReloader(&flags{configDir: dir}, exp, n, slog.New(slog.DiscardHandler))
	const reloads = 16 // 32 datagrams: fewer than the test socket's channel holds
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range reloads {
		wg.Go(func() {
			<-start
			rl.reload(context.Background(), fmt.Sprint("test ", i))
		})
	}
	close(start)
	want := "RELOADING=1"
	for range 2 * reloads {
		m := ns.Next(t, want, bound)
		if !sdnotifytest.HasLine(m, want) {
			t.Fatalf("%q while waiting for %s: RELOADING=1 and READY=1 are not paired", m, want)
		}
		want = map[string]string{"RELOADING=1": "READY=1", "READY=1": "RELOADING=1"}[want]
	}
	wg.Wait()
}
