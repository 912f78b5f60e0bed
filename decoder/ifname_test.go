package decoder

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

func TestIfname(t *testing.T) {
	runCases(t, testEnv(t), one("ifname"), []decodeCase{
		{name: "loopback is index 1 in every namespace", in: u32(1), want: "lo"},
		{name: "cached", in: u32(1), want: "lo"},
		{name: "zero", in: u32(0), want: "unknown:0"},
		{name: "unused index", in: u32(0x7ffffff0), want: "unknown:2147483632"},
		{name: "above int32", in: u32(0xffffffff), want: "unknown:4294967295"},
		{name: "2 bytes", in: u16(1), wantErr: "ifname: want 4 bytes, got 2"},
		{name: "empty", in: nil, wantErr: "got 0"},
	})
}

// fakeIfname returns an ifname decoder over a fake clock and interface
// table, and a function that advances the clock.
func fakeIfname(t *testing.T, table map[int]string) (*ifnameDecoder, func(time.Duration)) {
	t.Helper()
	d, err := newIfname(one("ifname")[0], testEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	id := d.(*ifnameDecoder)
	now := time.Unix(1000, 0)
	id.now = func() time.Time { return now }
	id.lookup = func(index int) (string, error) {
		if name, ok := table[index]; ok {
			return name, nil
		}
		return "", errors.New("no such interface")
	}
	return id, func(d time.Duration) { now = now.Add(d) }
}

// TestIfnameCache checks that cached names expire, so that renames are
// followed and deleted interfaces dropped, and that the cache is bounded
// (issue 7: it kept every index ever seen, with its first name).
func TestIfnameCache(t *testing.T) {
	table := map[int]string{7: "eth0"}
	d, advance := fakeIfname(t, table)
	decode := func(index uint32) string {
		t.Helper()
		out, err := d.Decode(u32(index))
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if got := decode(7); got != "eth0" {
		t.Fatalf("decode(7) = %q, want eth0", got)
	}
	table[7] = "wan0"
	if got := decode(7); got != "eth0" {
		t.Errorf("within the TTL: %q, want the cached eth0", got)
	}
	advance(ifnameTTL)
	if got := decode(7); got != "wan0" {
		t.Errorf("after a rename and the TTL: %q, want wan0", got)
	}
	delete(table, 7)
	advance(ifnameTTL)
	if got := decode(7); got != "unknown:7" {
		t.Errorf("after a delete and the TTL: %q, want unknown:7", got)
	}
	if _, ok := d.names[7]; ok {
		t.Errorf("deleted interface still cached")
	}
	for i := range ifnameMaxCache + 10 {
		table[100+i] = fmt.Sprint("if", i)
		decode(uint32(100 + i))
	}
	if n := len(d.names); n > ifnameMaxCache {
		t.Errorf("cache holds %d names, want at most %d", n, ifnameMaxCache)
	}
}

// TestIfnameRealRename renames and deletes a real veth interface in a
// network namespace of the test's own, and checks the decoder follows.
func TestIfnameRealRename(t *testing.T) {
	testenv.Root(t)
	ns := fmt.Sprintf("ebpfmon-ifname-%d", os.Getpid())
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		testenv.Unavailable(t, "ip netns add: %v: %s", err, out)
		return
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip("-n", ns, "link", "add", "h4a", "type", "veth", "peer", "name", "h4b")

	// Decode on a thread moved into the namespace; the thread is dropped
	// afterwards (the goroutine exits locked).
	type result struct {
		names []string
		err   error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		res := result{}
		defer func() { done <- res }()
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			res.err = err
			return
		}
		defer unix.Close(fd)
		if res.err = unix.Setns(fd, unix.CLONE_NEWNET); res.err != nil {
			return
		}
		d, advance := fakeIfname(t, nil)
		d.lookup = interfaceName
		iface, err := net.InterfaceByName("h4a")
		if err != nil {
			res.err = err
			return
		}
		idx := uint32(iface.Index)
		step := func(cmd ...string) {
			if cmd != nil {
				if out, err := exec.Command("ip", append([]string{"-n", ns}, cmd...)...).CombinedOutput(); err != nil {
					res.err = fmt.Errorf("ip %v: %v: %s", cmd, err, out)
				}
				advance(ifnameTTL)
			}
			out, err := d.Decode(u32(idx))
			if err != nil && res.err == nil {
				res.err = err
			}
			res.names = append(res.names, string(out))
		}
		step()
		step("link", "set", "h4a", "name", "h4renamed")
		step("link", "del", "h4renamed")
	}()
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	want := []string{"h4a", "h4renamed"}
	if len(res.names) != 3 || res.names[0] != want[0] || res.names[1] != want[1] || res.names[2][:8] != "unknown:" {
		t.Errorf("names = %q, want h4a, h4renamed, unknown:N", res.names)
	}
}
