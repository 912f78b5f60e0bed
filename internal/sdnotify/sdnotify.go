package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// SocketEnv is the variable systemd sets to the notification socket.
const SocketEnv = "NOTIFY_SOCKET"

// Notifier sends state changes to one notification socket. The zero of
// *Notifier, nil, sends nothing.
type Notifier struct {
	addr *net.UnixAddr
}

// FromEnv returns a Notifier for $NOTIFY_SOCKET, or nil when it is unset or
// empty (not run by systemd as Type=notify).
func FromEnv() (*Notifier, error) {
	socket := os.Getenv(SocketEnv)
	if socket == "" {
		return nil, nil
	}
	n, err := New(socket)
	if err != nil {
		return nil, fmt.Errorf("$%s: %w", SocketEnv, err)
	}
	return n, nil
}

// New returns a Notifier for socket: an absolute path or "@name" (an
// abstract socket).
func New(socket string) (*Notifier, error) {
	if !strings.HasPrefix(socket, "/") && !strings.HasPrefix(socket, "@") || len(socket) < 2 {
		return nil, fmt.Errorf("notification socket %q: want an absolute path or @name (an abstract socket); vsock: addresses are not supported", socket)
	}
	// Go turns a leading "@" into the NUL of an abstract socket address.
	return &Notifier{addr: &net.UnixAddr{Name: socket, Net: "unixgram"}}, nil
}

// Notify sends the lines (such as "READY=1", "STATUS=...") as one
// datagram. A nil Notifier sends nothing.
func (n *Notifier) Notify(lines ...string) error {
	if n == nil {
		return nil
	}
	for _, l := range lines {
		if !strings.Contains(l, "=") || strings.Contains(l, "\n") {
			return fmt.Errorf("notify %q: want one VAR=value line", l)
		}
	}
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.addr.Name, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		return fmt.Errorf("notify %s: %w", n.addr.Name, err)
	}
	return nil
}

// Ready says the service is up (at start, and again once a reload is done),
// with status as its STATUS= line (none when empty).
func (n *Notifier) Ready(status string) error {
	return n.Notify(withStatus([]string{"READY=1"}, status)...)
}

// Reloading says a reload begins; Ready says it ended. MONOTONIC_USEC is
// the CLOCK_MONOTONIC time of the request, which systemd 253+ wants with
// RELOADING=1 for Type=notify-reload units.
func (n *Notifier) Reloading(status string) error {
	if n == nil {
		return nil
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return fmt.Errorf("notify: reading CLOCK_MONOTONIC: %w", err)
	}
	usec := ts.Nano() / 1000
	return n.Notify(withStatus([]string{"RELOADING=1", "MONOTONIC_USEC=" + strconv.FormatInt(usec, 10)}, status)...)
}

// Stopping says the service is shutting down.
func (n *Notifier) Stopping(status string) error {
	return n.Notify(withStatus([]string{"STOPPING=1"}, status)...)
}

// Status sets the one-line status systemctl status shows.
func (n *Notifier) Status(status string) error {
	return n.Notify("STATUS=" + status)
}

func withStatus(lines []string, status string) []string {
	if status == "" {
		return lines
	}
	return append(lines, "STATUS="+status)
}
