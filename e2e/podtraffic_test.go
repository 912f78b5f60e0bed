package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TCP traffic from fake pods (podtcp, podnet). A process is in one cgroup
// (a Go thread cannot leave its process's), so the traffic of a container
// comes from this test binary run again as a helper, started in the
// container's cgroup: TestMain hands over to runHelper when helperEnv is
// set. Helpers talk to 127.0.0.1 only and give up after helperTimeout.

// helperEnv names the helper mode: serve, send or connect.
const helperEnv = "EBPFMON_E2E_HELPER"

// A bound, not a speed test: under qemu (the kernel matrix, software
// emulation) on a busy machine 20,000 round trips took over 20 s.
const helperTimeout = 2 * time.Minute

// runHelper runs helper mode with args and returns the exit status.
func runHelper(mode string, args []string) int {
	var err error
	switch mode {
	case "serve":
		err = helperServe(args)
	case "send":
		err = helperSend(args)
	case "connect":
		err = helperConnect(args)
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper %s %v: %v\n", mode, args, err)
		return 1
	}
	return 0
}

// helperServe (serve SIZE) listens on 127.0.0.1, prints "port N", accepts
// one connection and answers each SIZE-byte message with one byte until
// EOF, then closes and prints "read N" (bytes read).
func helperServe(args []string) error {
	size, err := intArgs(args, 1)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(helperTimeout))
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(helperTimeout))
	buf, read := make([]byte, size[0]), 0
	for {
		n, err := io.ReadFull(c, buf)
		read += n
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if _, err := c.Write([]byte{'y'}); err != nil {
			return err
		}
	}
	if err := c.Close(); err != nil {
		return err
	}
	fmt.Printf("read %d\n", read)
	return nil
}

// helperSend (send ADDR COUNT SIZE) connects, prints "port N" (its local
// port), sends COUNT messages of SIZE bytes, each after the answer to the
// one before (so that each is one packet: nothing is queued when it is
// written), shuts its sending side down, reads until the server closes,
// then closes: every packet of the connection reaches a socket that is
// still open, none a TIME_WAIT one.
func helperSend(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("want ADDR COUNT SIZE")
	}
	n, err := intArgs(args[1:], 2)
	if err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp", args[0], helperTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Printf("port %d\n", c.LocalAddr().(*net.TCPAddr).Port)
	c.SetDeadline(time.Now().Add(helperTimeout))
	msg, answer := make([]byte, n[1]), make([]byte, 1)
	for range n[0] {
		if _, err := c.Write(msg); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, answer); err != nil {
			return err
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	if rest, err := io.ReadAll(c); err != nil || len(rest) > 0 {
		return fmt.Errorf("after the last message: %d bytes, %v; want EOF", len(rest), err)
	}
	return c.Close()
}

// helperConnect (connect ADDR COUNT TIMEOUT) makes COUNT connections one
// after the other, each given up after TIMEOUT, prints "ok" or "timeout"
// for each, keeps them open until stdin closes, then closes them.
func helperConnect(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("want ADDR COUNT TIMEOUT")
	}
	n, err := intArgs(args[1:2], 1)
	if err != nil {
		return err
	}
	timeout, err := time.ParseDuration(args[2])
	if err != nil {
		return err
	}
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for range n[0] {
		c, err := net.DialTimeout("tcp", args[0], timeout)
		var ne net.Error
		switch {
		case err == nil:
			open = append(open, c)
			fmt.Println("ok")
		case errors.As(err, &ne) && ne.Timeout():
			fmt.Println("timeout")
		default:
			return err
		}
	}
	_, err = io.Copy(io.Discard, os.Stdin)
	return err
}

func intArgs(args []string, want int) ([]int, error) {
	if len(args) != want {
		return nil, fmt.Errorf("want %d numbers, got %v", want, args)
	}
	out := make([]int, want)
	for i, a := range args {
		v, err := strconv.Atoi(a)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%q: want a number > 0", a)
		}
		out[i] = v
	}
	return out, nil
}

// helper is a running helper process.
type helper struct {
	cmd   *exec.Cmd
	out   *bufio.Reader
	stdin io.WriteCloser
}

// startHelper runs this test binary as helper mode with args, in the
// process attributes attr (a cgroup); it is killed at the end of the test
// if still running.
func startHelper(t *testing.T, attr *syscall.SysProcAttr, mode string, args ...string) *helper {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), helperTimeout+10*time.Second)
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.SysProcAttr = attr
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	return &helper{cmd: cmd, out: bufio.NewReader(stdout), stdin: stdin}
}

// line reads the helper's next line of output.
func (h *helper) line(t *testing.T) string {
	t.Helper()
	s, err := h.out.ReadString('\n')
	if err != nil {
		t.Fatalf("helper %v: no output line (%v); exit: %v", h.cmd.Args, err, h.cmd.Wait())
	}
	return strings.TrimSpace(s)
}

// number reads a line "WHAT N" and returns N.
func (h *helper) number(t *testing.T, what string) int {
	t.Helper()
	s := h.line(t)
	v, ok := strings.CutPrefix(s, what+" ")
	n, err := strconv.Atoi(v)
	if !ok || err != nil {
		t.Fatalf("helper %v: %q, want %q N", h.cmd.Args, s, what)
	}
	return n
}

// wait closes the helper's stdin and waits for it to exit 0.
func (h *helper) wait(t *testing.T) {
	t.Helper()
	h.stdin.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("helper %v: %v", h.cmd.Args, err)
	}
}

// listenBacklog0 listens on 127.0.0.1 with an accept queue of one: once a
// connection waits in it unaccepted, the kernel drops the next SYNs, and
// the client retransmits them. It returns the port.
func listenBacklog0(t *testing.T) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*unix.SockaddrInet4).Port
}

// acceptAll listens on 127.0.0.1, accepts and closes connections until the
// end of the test, and returns the port.
func acceptAll(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_, _ = io.Copy(io.Discard, c) // until the client closes
				c.Close()
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// fakePod makes kubepods/pod<uid>/<id> cgroups for each container id (no
// API access: the pod label is the UID, the namespace empty, the container
// the id) and returns process attributes that start a helper in each.
func fakePod(t *testing.T, uid string, ids ...string) []*syscall.SysProcAttr {
	t.Helper()
	root, _ := cgroupMounts(t)
	pod := subCgroup(t, newCgroup(t, root, "kubepods"), "pod"+uid)
	var attrs []*syscall.SysProcAttr
	for _, id := range ids {
		attrs = append(attrs, intoCgroup(t, subCgroup(t, pod, id)))
	}
	return attrs
}

// podLabels are the labels of a container of a fake pod, and more
// name/value pairs.
func podLabels(uid, id string, more ...string) map[string]string {
	m := map[string]string{"namespace": "", "pod": uid, "container": id}
	for i := 0; i+1 < len(more); i += 2 {
		m[more[i]] = more[i+1]
	}
	return m
}
