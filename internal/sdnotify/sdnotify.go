package sdnotify

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// SocketEnv is the variable systemd sets to the notification socket.
const SocketEnv = "NOTIFY_SOCKET"

// Notifier sends state changes to one notification socket. The zero of
// *Notifier, nil, sends nothing.
type Notifier struct {
	socket  string
	timeout time.Duration // how long a send may wait for room in the receiver's queue
}

// SendTimeout bounds how long a notification waits for room in the
// service manager's queue (net.unix.max_dgram_qlen datagrams: systemd sets
// 512, the kernel's default is 10) before it is dropped: a busy manager
// gets it, one that never reads cannot hold ebpfmon up.
const SendTimeout = 5 * time.Second

// maxPath is the size of sun_path: a path must fit with its NUL, an
// abstract name (its "@" the leading NUL) may fill it.
const maxPath = len(unix.RawSockaddrUnix{}.Path)

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
	if len(socket) > maxPath || len(socket) == maxPath && socket[0] == '/' {
		return nil, fmt.Errorf("notification socket %q: %d bytes, longer than a unix socket address holds (%d with its NUL)", socket, len(socket), maxPath)
	}
	// x/sys turns a leading "@" into the NUL of an abstract socket
	// address. Each send builds its own address: x/sys writes into it.
	return &Notifier{socket: socket, timeout: SendTimeout}, nil
}

// Notify sends the lines (such as "READY=1", "STATUS=...") as one
// datagram. When the receiver's queue stays full for SendTimeout, the
// datagram is dropped and the error wraps unix.EAGAIN. A nil Notifier
// sends nothing.
func (n *Notifier) Notify(lines ...string) error {
	if n == nil {
		return nil
	}
	for _, l := range lines {
		if !strings.Contains(l, "=") || strings.Contains(l, "\n") {
			return fmt.Errorf("notify %q: want one VAR=value line", l)
		}
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("notify %s: socket: %w", n.socket, err)
	}
	defer unix.Close(fd)
	// A send without a bound would hang ebpfmon (its start, a reload, its
	// stop) behind a service manager that does not read.
	tv := unix.NsecToTimeval(n.timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		return fmt.Errorf("notify %s: SO_SNDTIMEO: %w", n.socket, err)
	}
	err = unix.Sendto(fd, []byte(strings.Join(lines, "\n")+"\n"), unix.MSG_NOSIGNAL, &unix.SockaddrUnix{Name: n.socket})
	switch {
	case errors.Is(err, unix.EAGAIN):
		return fmt.Errorf("notify %s: the receiver's queue stayed full for %s, not sent: %w", n.socket, n.timeout, err)
	case err != nil:
		return fmt.Errorf("notify %s: %w", n.socket, err)
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
