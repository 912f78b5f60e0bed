package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// exitBound is how long a test waits for ebpfmon to exit after a signal;
// only a defect makes it wait that long.
const exitBound = 30 * time.Second

// TestSIGHUPWithoutReload: with --no-config.reload SIGHUP is logged and
// ignored; by default it would kill ebpfmon and detach every program.
// TestReloadSIGHUP tests SIGHUP's reload.
func TestSIGHUPWithoutReload(t *testing.T) {
	in := start(t, "--config.dir="+examplesDir, "--config.names=timers", "--no-config.reload")
	if err := in.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	in.waitLog(t, "SIGHUP ignored")
	in.get(t, "/metrics") // still serving; the cleanup checks it exits 0 on SIGTERM
}

// TestSIGTERMWithStuckClient: a client that never reads a response keeps a
// request in flight; SIGTERM must still end ebpfmon, with status 0, once
// the shutdown grace is over.
func TestSIGTERMWithStuckClient(t *testing.T) {
	in := start(t, "--config.dir="+examplesDir, "--config.names=timers", "--web.scrape-timeout=10m")
	stuckClient(t, in)
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := in.wait(t); err != nil {
		t.Fatalf("ebpfmon exited with %v, want status 0:\n%s", err, in.logText())
	}
}

// TestSecondSIGTERMExitsAtOnce: while the shutdown waits for a stuck
// client, a second SIGTERM ends ebpfmon at once (killed by the signal,
// not exiting after the grace period).
func TestSecondSIGTERMExitsAtOnce(t *testing.T) {
	in := start(t, "--config.dir="+examplesDir, "--config.names=timers", "--web.scrape-timeout=10m")
	stuckClient(t, in)
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	in.waitLog(t, "shutting down")
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := in.wait(t)
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("ebpfmon exited with %v, want killed by SIGTERM:\n%s", err, in.logText())
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("ebpfmon exited with %v, want killed by SIGTERM:\n%s", err, in.logText())
	}
}

// TestSignalWhileLoading: SIGTERM or SIGINT while configs load stops
// ebpfmon before it loads the rest, with status 0; before, signals were
// held until every config was loaded and attached.
func TestSignalWhileLoading(t *testing.T) {
	testenv.Privileged(t)
	requireExamples(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, ebpfmonBin, "--config.dir="+examplesDir, "--web.listen-address=127.0.0.1:0")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var log strings.Builder
			signaled := false
			for s := bufio.NewScanner(stderr); s.Scan(); {
				log.WriteString(s.Text() + "\n")
				if !signaled && strings.Contains(s.Text(), `msg="config loaded"`) {
					signaled = cmd.Process.Signal(sig) == nil
				}
			}
			err = cmd.Wait()
			if err != nil || !strings.Contains(log.String(), "stopped while loading configs") || strings.Contains(log.String(), "msg=listening") {
				t.Errorf("exit %v; want status 0 and a stop before serving:\n%s", err, log.String())
			}
		})
	}
}

// stuckClient pipelines many scrapes and reads none of the responses, so
// that ebpfmon blocks writing one; it returns once ebpfmon's side of the
// connection has stopped sending.
func stuckClient(t *testing.T, in *instance) {
	t.Helper()
	u, err := url.Parse(in.url)
	if err != nil {
		t.Fatal(err)
	}
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	c, err := d.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// Each response is tens of KiB: 2000 of them are far more than the
	// socket buffers hold.
	req := "GET /metrics HTTP/1.1\r\nHost: e2e\r\n\r\n"
	if _, err := c.Write([]byte(strings.Repeat(req, 2000))); err != nil {
		t.Fatal(err)
	}
	waitSendQueueStill(t, u.Port(), strconv.Itoa(c.LocalAddr().(*net.TCPAddr).Port))
}

// waitSendQueueStill waits until the connection from local port to remote
// port has unsent bytes, the same number three times in a row.
func waitSendQueueStill(t *testing.T, local, remote string) {
	t.Helper()
	deadline := time.Now().Add(exitBound)
	last, same := int64(-1), 0
	for same < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("ebpfmon's side of the stuck connection did not stop sending in %s", exitBound)
		}
		time.Sleep(100 * time.Millisecond)
		q := sendQueue(t, local, remote)
		if q > 0 && q == last {
			same++
		} else {
			same = 0
		}
		last = q
	}
}

// sendQueue reads from /proc/net/tcp the bytes queued on the socket from
// 127.0.0.1:local to remote, or -1 when there is none.
func sendQueue(t *testing.T, local, remote string) int64 {
	t.Helper()
	raw, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	hexPort := func(p string) string {
		n, _ := strconv.Atoi(p)
		return fmt.Sprintf(":%04X", n)
	}
	for _, line := range strings.Split(string(raw), "\n")[1:] {
		fields := strings.Fields(line)
		if len(fields) < 5 || !strings.HasSuffix(fields[1], hexPort(local)) || !strings.HasSuffix(fields[2], hexPort(remote)) {
			continue
		}
		tx, _, _ := strings.Cut(fields[4], ":")
		n, err := strconv.ParseInt(tx, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return -1
}

// waitLog waits until the log has a line containing s.
func (in *instance) waitLog(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(exitBound)
	for !strings.Contains(in.logText(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log after %s:\n%s", s, exitBound, in.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wait waits for ebpfmon to exit, and kills it when it does not within
// exitBound.
func (in *instance) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-in.done:
	case <-time.After(exitBound):
		_ = in.cmd.Process.Kill()
		<-in.done
		_ = in.cmd.Wait()
		t.Fatalf("ebpfmon did not exit within %s:\n%s", exitBound, in.logText())
	}
	return in.cmd.Wait()
}
