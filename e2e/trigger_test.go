package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ebpfmon/ebpfmon/bpfmap"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// Event generators for the example tests. Each one does a small, bounded
// amount of real work in the kernel and fails the test if it cannot.

// run executes a program, in the process attributes attr if not nil, with a
// 10s limit and fails the test if it does not exit 0.
func run(t *testing.T, attr *syscall.SysProcAttr, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = attr
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// runStatus is run for programs whose failure is expected, with extra
// environment variables: it returns the exit code.
func runStatus(t *testing.T, env []string, name string, args ...string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && ctx.Err() == nil:
		return exit.ExitCode()
	}
	t.Fatalf("%s %v: %v", name, args, err)
	return -1
}

// tcpRoundTrip listens on a fresh port of ip, connects, exchanges a byte
// each way, then closes the client end first and the server end once it
// has read EOF: active close on the client, passive close on the server.
func tcpRoundTrip(t *testing.T, ip string) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatalf("connect to %s: %v", ln.Addr(), err)
	}
	var server net.Conn
	select {
	case server = <-accepted:
	case <-time.After(5 * time.Second):
	}
	if server == nil {
		client.Close()
		t.Fatalf("accept on %s failed or timed out", ln.Addr())
	}
	deadline := time.Now().Add(5 * time.Second)
	client.SetDeadline(deadline)
	server.SetDeadline(deadline)
	buf := make([]byte, 1)
	_, err1 := client.Write([]byte{'x'})
	_, err2 := io.ReadFull(server, buf)
	_, err3 := server.Write([]byte{'y'})
	_, err4 := io.ReadFull(client, buf)
	client.Close()
	_, err5 := server.Read(buf) // io.EOF: the client's FIN arrived
	server.Close()
	if err := errors.Join(err1, err2, err3, err4); err != nil || err5 != io.EOF {
		t.Fatalf("TCP exchange over %s: %v, read after close: %v", ln.Addr(), err, err5)
	}
}

// closedUDPPort returns a UDP port on ip that nothing listens on: one the
// kernel just handed out and that was closed again.
func closedUDPPort(t *testing.T, ip string) int {
	t.Helper()
	c, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("UDP on %s: %v", ip, err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	return port
}

// sendUDP sends count datagrams carrying payload to ip:port from an
// unconnected socket (so ICMP errors coming back are not reported to it).
func sendUDP(t *testing.T, ip string, port, count int, payload []byte) {
	t.Helper()
	c, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("UDP on %s: %v", ip, err)
	}
	defer c.Close()
	to := &net.UDPAddr{IP: net.ParseIP(ip), Port: port}
	for range count {
		if _, err := c.WriteTo(payload, to); err != nil {
			t.Fatalf("send UDP to %s: %v", to, err)
		}
	}
}

// dnsQuery is a DNS query message (RFC 1035 4.1) for an A record of qname:
// header (random id, RD flag, one question), QNAME as length-prefixed labels,
// QTYPE A, QCLASS IN.
func dnsQuery(qname string) []byte {
	msg := make([]byte, 12, 64)
	rand.Read(msg[:2])
	binary.BigEndian.PutUint16(msg[2:], 0x0100)
	binary.BigEndian.PutUint16(msg[4:], 1)
	for _, label := range strings.Split(qname, ".") {
		msg = append(msg, byte(len(label)))
		msg = append(msg, label...)
	}
	msg = append(msg, 0)
	return binary.BigEndian.AppendUint32(msg, 1<<16|1)
}

// diskDir returns a new directory on a filesystem backed by a block device
// (not tmpfs), removed at the end of the test, and the name of the whole
// disk behind it ("vda" for /dev/vda1), as /sys/dev/block names it.
func diskDir(t *testing.T) (dir, disk string) {
	t.Helper()
	for _, parent := range []string{os.TempDir(), "/var/tmp", "/"} {
		var st unix.Stat_t
		if err := unix.Stat(parent, &st); err != nil || unix.Major(st.Dev) == 0 {
			continue // tmpfs, overlayfs, btrfs: anonymous devices, no disk to name
		}
		sys, err := filepath.EvalSymlinks(fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)))
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(sys, "partition")); err == nil {
			sys = filepath.Dir(sys)
		}
		if slaves, _ := os.ReadDir(filepath.Join(sys, "slaves")); len(slaves) > 0 {
			continue // device mapper, md: requests are issued on the slaves
		}
		dir, err := os.MkdirTemp(parent, "ebpfmon-e2e-disk")
		if err != nil {
			continue
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		return dir, filepath.Base(sys)
	}
	testenv.Unavailable(t, "no directory on a plain block device among %s, /var/tmp, /", os.TempDir())
	return "", ""
}

// writeSync writes size random bytes to a new file in dir, fsyncs it so the
// data reaches the disk, and removes it.
func writeSync(t *testing.T, dir string, size int) {
	t.Helper()
	f, err := os.CreateTemp(dir, "w")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, size)
	rand.Read(buf)
	if _, err := f.Write(buf); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// labBlockDevice is the null_blk device scripts/matrix.sh loads into the
// kernel lab's guest, which has no disk: block requests to it go through
// the block layer (and its tracepoints) and complete at once.
const labBlockDevice = "/dev/nullb0"

// blockTarget returns how to issue block requests and the disk they reach:
// a file on a plain block device fsync'd (see diskDir) or, in the kernel
// lab, direct writes to labBlockDevice.
func blockTarget(t *testing.T) (write func(size int), disk string) {
	t.Helper()
	if !inLab() {
		dir, disk := diskDir(t)
		return func(size int) { writeSync(t, dir, size) }, disk
	}
	if _, err := os.Stat(labBlockDevice); err != nil {
		t.Fatalf("kernel lab without %s (scripts/matrix.sh loads null_blk for e2e): %v", labBlockDevice, err)
	}
	return func(size int) { writeDirect(t, labBlockDevice, size) }, filepath.Base(labBlockDevice)
}

// writeDirect writes size bytes (a multiple of 4096) at the start of the
// block device dev with O_DIRECT, so each write is a block request.
func writeDirect(t *testing.T, dev string, size int) {
	t.Helper()
	// O_DIRECT wants an aligned buffer: an anonymous mapping is page aligned.
	buf, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(buf)
	rand.Read(buf)
	fd, err := unix.Open(dev, unix.O_WRONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open %s: %v", dev, err)
	}
	defer unix.Close(fd)
	if n, err := unix.Pwrite(fd, buf, 0); n != size || err != nil {
		t.Fatalf("write %d bytes to %s: %d, %v", size, dev, n, err)
	}
}

// spinUser keeps one CPU busy in user space for d.
func spinUser(d time.Duration) uint64 {
	var x uint64
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := range 100000 {
			x = x*6364136223846793005 + uint64(i)
		}
	}
	return x
}

// spinKernel keeps one CPU busy in the kernel for d, zeroing a buffer with
// read(2) from /dev/zero (read_iter_zero).
func spinKernel(t *testing.T, d time.Duration) {
	t.Helper()
	f, err := os.Open("/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for end := time.Now().Add(d); time.Now().Before(end); {
		if _, err := f.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
}

// faultPages maps pages fresh anonymous pages without huge pages, so each
// first touch is one page fault, and touches them: from user space (writes)
// when inKernel is false, else by read(2) from /dev/zero into them, which
// faults them in from the kernel's copy to user.
func faultPages(t *testing.T, pages int, inKernel bool) {
	t.Helper()
	size := pages * os.Getpagesize()
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if err := unix.Madvise(mem, unix.MADV_NOHUGEPAGE); err != nil {
		t.Fatal(err)
	}
	if !inKernel {
		for i := 0; i < size; i += os.Getpagesize() {
			mem[i] = 1
		}
		return
	}
	f, err := os.Open("/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.ReadFull(f, mem); err != nil {
		t.Fatal(err)
	}
}

// onlineCPUs lists the CPUs online now: a cpu-split metric has a series
// for each of them.
func onlineCPUs(t *testing.T) []int {
	t.Helper()
	cpus, err := bpfmap.OnlineCPUs()
	if err != nil {
		t.Fatal(err)
	}
	return cpus
}

// cgroupMounts finds the cgroup2 mount and, on hybrid hosts, the cgroup v1
// memory controller's mount ("" when there is none).
func cgroupMounts(t *testing.T) (v2, v1memory string) {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, postFields := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(postFields) < 3 {
			continue
		}
		switch {
		case postFields[0] == "cgroup2" && v2 == "":
			v2 = fields[4]
		case postFields[0] == "cgroup" && v1memory == "" && hasOption(postFields[2], "memory"):
			v1memory = fields[4]
		}
	}
	if v2 == "" {
		testenv.Unavailable(t, "no cgroup2 mount")
	}
	return v2, v1memory
}

func hasOption(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// newCgroup creates a uniquely named cgroup directory below root, removed at
// the end of the test (after the processes in it have exited), and returns
// its path.
func newCgroup(t *testing.T, root, what string) string {
	t.Helper()
	return subCgroup(t, root, fmt.Sprintf("ebpfmon-e2e-%s-%d-%d", what, os.Getpid(), time.Now().UnixNano()))
}

// subCgroup creates the cgroup name below parent, removed at the end of the
// test (before parent: cleanups run last first). A cgroup that cannot be
// created makes the test Unavailable.
func subCgroup(t *testing.T, parent, name string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		testenv.Unavailable(t, "create cgroup: %v", err)
	}
	t.Cleanup(func() {
		// A task leaves its cgroup a moment after wait returns.
		for end := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			err := unix.Rmdir(dir)
			if err == nil || errors.Is(err, unix.ENOENT) {
				return
			}
			if time.Now().After(end) {
				t.Errorf("remove cgroup %s: %v", dir, err)
				return
			}
		}
	})
	return dir
}

// intoCgroup returns process attributes that start the child directly in
// the cgroup v2 directory dir (clone3 CLONE_INTO_CGROUP); the directory fd
// is closed at the end of the test.
func intoCgroup(t *testing.T, dir string) *syscall.SysProcAttr {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
}

// oomKill runs a memory hog in a new cgroup limited to 32 MiB and waits for
// the OOM killer to kill it. It returns the cgroup's path relative to the
// cgroup2 mount, where the victim is (the path the cgroup decoder gives).
//
// On a cgroup v2 host with the memory controller the limit is memory.max of
// that cgroup. On a hybrid host (memory controller in v1) the limit is
// memory.limit_in_bytes of a v1 memory cgroup the hog is moved into as
// well. The hog is tail(1) reading a pipe fed from /dev/zero: it keeps the
// endless line in memory.
func oomKill(t *testing.T) string {
	t.Helper()
	v2root, _ := cgroupMounts(t)
	v2 := newCgroup(t, v2root, "oom")
	oomKillIn(t, v2)
	rel, err := filepath.Rel(v2root, v2)
	if err != nil {
		t.Fatal(err)
	}
	return "/" + rel
}

// oomKillIn is oomKill in the existing cgroup v2 directory v2, at any depth
// below the root: on a cgroup v2 host each cgroup between the root and v2
// is given the memory controller for its children first.
func oomKillIn(t *testing.T, v2 string) {
	t.Helper()
	v2root, v1memory := cgroupMounts(t)
	const limit = "33554432"
	controllers, _ := os.ReadFile(filepath.Join(v2root, "cgroup.subtree_control"))
	var v1 string
	switch {
	case hasOption(strings.ReplaceAll(strings.TrimSpace(string(controllers)), " ", ","), "memory"):
		var between []string
		for p := filepath.Dir(v2); strings.HasPrefix(p, v2root+"/"); p = filepath.Dir(p) {
			between = append(between, p)
		}
		for _, p := range slices.Backward(between) {
			writeFile(t, filepath.Join(p, "cgroup.subtree_control"), "+memory")
		}
		writeFile(t, filepath.Join(v2, "memory.max"), limit)
		if _, err := os.Stat(filepath.Join(v2, "memory.swap.max")); err == nil {
			writeFile(t, filepath.Join(v2, "memory.swap.max"), "0")
		}
	case v1memory != "":
		v1 = newCgroup(t, v1memory, "oom")
		writeFile(t, filepath.Join(v1, "memory.limit_in_bytes"), limit)
		if _, err := os.Stat(filepath.Join(v1, "memory.memsw.limit_in_bytes")); err == nil {
			writeFile(t, filepath.Join(v1, "memory.memsw.limit_in_bytes"), limit)
		}
	default:
		testenv.Unavailable(t, "no memory controller in cgroup2 (%s) nor in cgroup v1", v2root)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hog := exec.CommandContext(ctx, "tail")
	hog.SysProcAttr = intoCgroup(t, v2)
	feed, err := hog.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := hog.Start(); err != nil {
		t.Fatal(err)
	}
	if v1 != "" {
		// Before it is fed, so all of its memory is charged there.
		if err := os.WriteFile(filepath.Join(v1, "cgroup.procs"), []byte(strconv.Itoa(hog.Process.Pid)), 0o644); err != nil {
			hog.Process.Kill()
			hog.Wait()
			t.Fatalf("move the hog into %s: %v", v1, err)
		}
	}
	go func() {
		zero, err := os.Open("/dev/zero")
		if err == nil {
			io.Copy(feed, zero) // until the hog dies: EPIPE
			zero.Close()
		}
		feed.Close()
	}()
	err = hog.Wait()
	if ctx.Err() != nil {
		t.Fatalf("the hog in %s was not OOM-killed within 20s", v2)
	}
	ws, ok := hog.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the hog in %s ended with %v, want killed by SIGKILL (the OOM killer)", v2, err)
	}
}

// pciDevice describes the PCI function behind a block device, with names
// from pci.ids as the pci_* decoders give them.
type pciDevice struct {
	vendor, device, class, subclass string
}

// pciOfDisk walks up from /sys/block/DISK to the first device on the PCI bus
// and names it from pci.ids with a small parser of its own.
func pciOfDisk(t *testing.T, disk string) pciDevice {
	t.Helper()
	dev, err := filepath.EvalSymlinks(filepath.Join("/sys/block", disk, "device"))
	if err != nil {
		testenv.Unavailable(t, "no device behind disk %s: %v", disk, err)
	}
	for ; dev != "/" && dev != "."; dev = filepath.Dir(dev) {
		if sub, err := filepath.EvalSymlinks(filepath.Join(dev, "subsystem")); err == nil && filepath.Base(sub) == "pci" {
			break
		}
	}
	if dev == "/" || dev == "." {
		testenv.Unavailable(t, "disk %s is not on a PCI bus", disk)
	}
	hexAttr := func(name string) uint64 {
		data := readFile(t, filepath.Join(dev, name))
		v, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(data), "0x"), 16, 32)
		if err != nil {
			t.Fatalf("%s/%s: %v", dev, name, err)
		}
		return v
	}
	vendor, device, class := hexAttr("vendor"), hexAttr("device"), hexAttr("class")
	ids := ""
	for _, p := range []string{"/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"} {
		if b, err := os.ReadFile(p); err == nil {
			ids = string(b)
			break
		}
	}
	if ids == "" {
		testenv.Unavailable(t, "no pci.ids (package pci.ids or hwdata)")
	}
	var d pciDevice
	var inVendor, inClass bool
	for line := range strings.Lines(ids) {
		line = strings.TrimRight(line, "\n")
		id, name, _ := strings.Cut(strings.TrimLeft(line, "\t"), "  ")
		switch {
		case line == "" || line[0] == '#' || strings.HasPrefix(line, "\t\t"):
		case strings.HasPrefix(line, "C "):
			inVendor, inClass = false, line[2:4] == fmt.Sprintf("%02x", class>>16)
			if inClass {
				d.class = strings.TrimSpace(line[4:])
			}
		case line[0] != '\t':
			inVendor, inClass = id == fmt.Sprintf("%04x", vendor), false
			if inVendor {
				d.vendor = name
			}
		case inVendor && id == fmt.Sprintf("%04x", device):
			d.device = name
		case inClass && id == fmt.Sprintf("%02x", class>>8&0xff):
			d.subclass = name
		}
	}
	if d.vendor == "" || d.device == "" || d.class == "" || d.subclass == "" {
		testenv.Unavailable(t, "PCI device %04x:%04x class %06x of disk %s is not fully named in pci.ids: %+v", vendor, device, class, disk, d)
	}
	return d
}
