// Package sdnotifytest is the service manager's end of sd_notify for
// tests: a datagram socket, as systemd opens for NOTIFY_SOCKET, that hands
// over each notification it receives.
package sdnotifytest

import (
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// Socket is a NOTIFY_SOCKET a test opens.
type Socket struct {
	// Name is its path: the value of NOTIFY_SOCKET.
	Name string
	msgs chan string
}

// Listen binds a datagram socket at name, writable by every user (so that
// a process that dropped to another uid can notify), and reads it until the
// test ends.
func Listen(t testing.TB, name string) *Socket {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := os.Chmod(name, 0o777); err != nil {
		t.Fatal(err)
	}
	s := &Socket{Name: name, msgs: make(chan string, 64)}
	go func() {
		defer close(s.msgs)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.msgs <- string(buf[:n])
		}
	}()
	return s
}

// Next returns the next notification; it fails the test after timeout.
// waitingFor says what the test waits for, for the message.
func (s *Socket) Next(t testing.TB, waitingFor string, timeout time.Duration) string {
	t.Helper()
	select {
	case m, ok := <-s.msgs:
		if !ok {
			t.Fatalf("waiting for %s: the notify socket closed", waitingFor)
		}
		return m
	case <-time.After(timeout):
		t.Fatalf("waiting for %s: no notification in %s", waitingFor, timeout)
	}
	return ""
}

// Expect reads notifications up to the one with line and returns it; one
// with an unwanted line before it fails the test, as does timeout (for
// each notification).
func (s *Socket) Expect(t testing.TB, line string, timeout time.Duration, unwanted ...string) string {
	t.Helper()
	for {
		m := s.Next(t, line, timeout)
		for _, u := range unwanted {
			if HasLine(m, u) {
				t.Fatalf("got %q while waiting for %s", m, line)
			}
		}
		if HasLine(m, line) {
			return m
		}
	}
}

// HasLine reports whether a notification has line as one of its lines;
// a line ending in "=" (MONOTONIC_USEC=) matches that variable with any
// value.
func HasLine(notification, line string) bool {
	return slices.ContainsFunc(strings.Split(notification, "\n"), func(l string) bool {
		return l == line || strings.HasSuffix(line, "=") && strings.HasPrefix(l, line)
	})
}
