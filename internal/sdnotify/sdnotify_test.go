package sdnotify

import (
	"errors"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listen opens the unixgram socket a service manager would: a path in a
// temporary directory, or an abstract name ("@...").
func listen(t *testing.T, abstract bool) (*net.UnixConn, string) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "notify")
	if abstract {
		name = "@ebpfmon-sdnotify-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, name
}

// receive reads one datagram, failing the test after a bound.
func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no datagram: %v", err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func(*Notifier) error
		want string // a regexp matching the whole datagram
	}{
		{"ready", func(n *Notifier) error { return n.Ready("") }, "READY=1\n"},
		{"ready with status", func(n *Notifier) error { return n.Ready("3 configs loaded, 1 failed: x") }, "READY=1\nSTATUS=3 configs loaded, 1 failed: x\n"},
		{"reloading", func(n *Notifier) error { return n.Reloading("reloading") }, "RELOADING=1\nMONOTONIC_USEC=[1-9][0-9]*\nSTATUS=reloading\n"},
		{"stopping", func(n *Notifier) error { return n.Stopping("") }, "STOPPING=1\n"},
		{"status", func(n *Notifier) error { return n.Status("loading configs") }, "STATUS=loading configs\n"},
		{"empty status", func(n *Notifier) error { return n.Status("") }, "STATUS=\n"},
		{"lines", func(n *Notifier) error { return n.Notify("A=1", "B=2") }, "A=1\nB=2\n"},
	} {
		for _, abstract := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{false: " path", true: " abstract"}[abstract], func(t *testing.T) {
				conn, name := listen(t, abstract)
				t.Setenv(SocketEnv, name)
				n, err := FromEnv()
				if err != nil || n == nil {
					t.Fatalf("FromEnv = %v, %v", n, err)
				}
				if err := tc.send(n); err != nil {
					t.Fatal(err)
				}
				if got := receive(t, conn); !regexp.MustCompile("^" + tc.want + "$").MatchString(got) {
					t.Errorf("datagram %q, want %q", got, tc.want)
				}
			})
		}
	}
}

// TestMonotonic checks MONOTONIC_USEC is a time in microseconds: positive,
// and less than a century (in nanoseconds, a day of uptime is already more).
func TestMonotonic(t *testing.T) {
	conn, name := listen(t, false)
	n, err := New(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Reloading(""); err != nil {
		t.Fatal(err)
	}
	got := receive(t, conn)
	v, ok := strings.CutPrefix(strings.Split(got, "\n")[1], "MONOTONIC_USEC=")
	usec, err := strconv.ParseInt(v, 10, 64)
	if !ok || err != nil || usec <= 0 {
		t.Fatalf("datagram %q: no MONOTONIC_USEC", got)
	}
	if usec > 100*365*24*3600*1e6 || usec < 1e6 {
		t.Errorf("MONOTONIC_USEC=%d: more than 100 years of uptime, nanoseconds?", usec)
	}
}

// TestNoSocket: without $NOTIFY_SOCKET, every call is a no-op.
func TestNoSocket(t *testing.T) {
	t.Setenv(SocketEnv, "")
	n, err := FromEnv()
	if err != nil || n != nil {
		t.Fatalf("FromEnv = %v, %v; want nil, nil", n, err)
	}
	for _, err := range []error{n.Ready("x"), n.Reloading("x"), n.Stopping("x"), n.Status("x"), n.Notify("A=1")} {
		if err != nil {
			t.Errorf("nil Notifier: %v", err)
		}
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	stream := filepath.Join(dir, "stream")
	ln, err := net.Listen("unix", stream)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ready := func(n *Notifier) error { return n.Ready("") }
	for _, tc := range []struct {
		name, socket string
		send         func(*Notifier) error
		err          string
	}{
		{name: "relative path", socket: "run/notify", err: `$NOTIFY_SOCKET: notification socket "run/notify": want an absolute path or @name`},
		{name: "bare @", socket: "@", err: "want an absolute path or @name"},
		{name: "vsock", socket: "vsock:2:1234", err: "vsock: addresses are not supported"},
		{name: "no listener", socket: filepath.Join(dir, "missing"), send: ready, err: "notify " + filepath.Join(dir, "missing") + ": no such file or directory"},
		{name: "stream socket", socket: stream, send: ready, err: "notify " + stream + ": protocol wrong type"},
		{name: "path too long", socket: "/" + strings.Repeat("x", 107), err: "108 bytes, longer than a unix socket address holds"},
		{name: "abstract name too long", socket: "@" + strings.Repeat("x", 108), err: "109 bytes, longer than a unix socket address holds"},
		{name: "newline in status", socket: filepath.Join(dir, "missing"), send: func(n *Notifier) error { return n.Status("a\nREADY=1") }, err: "want one VAR=value line"},
		{name: "line without =", socket: filepath.Join(dir, "missing"), send: func(n *Notifier) error { return n.Notify("READY") }, err: `notify "READY": want one VAR=value line`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(SocketEnv, tc.socket)
			n, err := FromEnv()
			if err == nil && tc.send != nil {
				err = tc.send(n)
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err = %v, want one containing %q", err, tc.err)
			}
		})
	}
}

// TestLongestNames: the longest path and abstract name that fit are
// used as given.
func TestLongestNames(t *testing.T) {
	for _, socket := range []string{"/" + strings.Repeat("x", 106), "@" + strings.Repeat("x", 107)} {
		if _, err := New(socket); err != nil {
			t.Errorf("New(%d bytes): %v", len(socket), err)
		}
	}
}

// TestFullQueue: a service manager that does not read its socket must
// never hold ebpfmon up. Once the socket's queue is full, a notification
// is dropped with EAGAIN after its timeout (a blocking send waited for
// ever).
func TestFullQueue(t *testing.T) {
	_, name := listen(t, false)
	n, err := New(name)
	if err != nil {
		t.Fatal(err)
	}
	n.timeout = 10 * time.Millisecond
	done := make(chan error, 1)
	go func() {
		// The queue holds net.unix.max_dgram_qlen datagrams (10 by
		// default) or its bytes' worth; 100000 is more than either.
		for range 100000 {
			if err := n.Status("x"); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if !errors.Is(err, unix.EAGAIN) || !strings.Contains(err.Error(), "queue stayed full for 10ms") {
			t.Errorf("notifying a full socket: %v, want EAGAIN", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("notifying a socket nobody reads blocked")
	}
}

// FuzzStatus: any status without a newline arrives as sent, in one
// datagram; one with a newline is refused, never sent as extra lines.
func FuzzStatus(f *testing.F) {
	for _, s := range []string{"", "3 configs loaded, 0 failed", "a\nREADY=1", "ü\x00x", "=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, status string) {
		conn, name := listen(t, true)
		n, err := New(name)
		if err != nil {
			t.Fatal(err)
		}
		err = n.Status(status)
		if strings.Contains(status, "\n") {
			if err == nil {
				t.Fatalf("status %q with a newline sent", status)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := receive(t, conn); got != "STATUS="+status+"\n" {
			t.Errorf("datagram %q, want STATUS=%s", got, status)
		}
	})
}
