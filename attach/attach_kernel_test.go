package attach

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// TestAttachFires attaches a counting program through each section kind this
// kernel supports, fires the hook and checks the program ran.
func TestAttachFires(t *testing.T) {
	testenv.Privileged(t)
	for _, tc := range []struct {
		section string
		spec    ebpf.ProgramSpec
		ret     int32
		fire    func(t *testing.T)
	}{
		{"tracepoint/sched/sched_switch", ebpf.ProgramSpec{Type: ebpf.TracePoint}, 0, sleep},
		{"raw_tp/sched_switch", ebpf.ProgramSpec{Type: ebpf.RawTracepoint}, 0, sleep},
		{"tp_btf/sched_switch", ebpf.ProgramSpec{Type: ebpf.Tracing, AttachType: ebpf.AttachTraceRawTp, AttachTo: "sched_switch"}, 0, sleep},
		{"perf_event/type=1,config=0,frequency=1000", ebpf.ProgramSpec{Type: ebpf.PerfEvent}, 0, spin},
		{"uprobe/libc.so.6:malloc", ebpf.ProgramSpec{Type: ebpf.Kprobe}, 0, runTrue}, // every dynamically linked program mallocs
		{"uretprobe/libc.so.6:malloc", ebpf.ProgramSpec{Type: ebpf.Kprobe}, 0, runTrue},
		{"xdp/lo", ebpf.ProgramSpec{Type: ebpf.XDP}, 2, udpToLoopback},
		{"cgroup_skb/egress", ebpf.ProgramSpec{Type: ebpf.CGroupSKB, AttachType: ebpf.AttachCGroupInetEgress}, 1, udpToListener},
		{"cgroup_skb/ingress", ebpf.ProgramSpec{Type: ebpf.CGroupSKB, AttachType: ebpf.AttachCGroupInetIngress}, 1, udpToListener},
	} {
		t.Run(tc.section, func(t *testing.T) {
			counter, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer counter.Close()
			spec := tc.spec
			spec.License = "GPL"
			spec.Instructions = testenv.CounterProg(counter, tc.ret)
			prog, err := ebpf.NewProgram(&spec)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			defer prog.Close()
			l, err := Program(tc.section, prog, Options{})
			if err != nil {
				t.Fatalf("attach: %v", err)
			}
			defer l.Close()
			var n uint64
			for deadline := time.Now().Add(5 * time.Second); n == 0 && time.Now().Before(deadline); {
				tc.fire(t)
				if err := counter.Lookup(uint32(0), &n); err != nil {
					t.Fatal(err)
				}
			}
			if n == 0 {
				t.Fatal("program attached but never ran")
			}
			if err := l.Close(); err != nil {
				t.Fatalf("detach: %v", err)
			}
		})
	}
}

// TestAttachMissingHooks checks hooks this kernel lacks fail with a clear
// ErrHookMissing, never silently.
func TestAttachMissingHooks(t *testing.T) {
	testenv.Privileged(t)
	prog := func(typ ebpf.ProgramType) *ebpf.Program {
		p, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: typ, License: "GPL", Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	for _, tc := range []struct {
		section, want string
		typ           ebpf.ProgramType
	}{
		{"tracepoint/nosuch/event", "tracepoint", ebpf.TracePoint},
		{"raw_tp/nosuch_event", "raw tracepoint", ebpf.RawTracepoint},
		{"xdp/nosuch0", "xdp interface", ebpf.XDP},
		{"uprobe/libc.so.6:nosuch_symbol_ebpfmon", "uprobe", ebpf.Kprobe},
		{"uprobe/libnosuch.so.9:f", "not found", ebpf.Kprobe},
	} {
		t.Run(tc.section, func(t *testing.T) {
			_, err := Program(tc.section, prog(tc.typ), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
	t.Run("kprobe", func(t *testing.T) {
		_, err := Program("kprobe/do_nanosleep", prog(ebpf.Kprobe), Options{})
		if kprobesAvailable() {
			if err != nil {
				t.Fatalf("kprobes are available here but attach failed: %v", err)
			}
			return
		}
		if !errors.Is(err, ErrHookMissing) || !strings.Contains(err.Error(), "CONFIG_KPROBES") {
			t.Fatalf("kprobes are missing here: want ErrHookMissing with a hint, got %v", err)
		}
		t.Logf("kprobes unavailable on this kernel, reported as: %v", err)
	})
}

func kprobesAvailable() bool {
	_, err := os.Stat("/sys/kernel/tracing/kprobe_events")
	return err == nil
}

func sleep(*testing.T) { time.Sleep(10 * time.Millisecond) }

func spin(*testing.T) {
	for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
	}
}

func runTrue(t *testing.T) {
	if out, err := exec.Command("/bin/sh", "-c", "true").CombinedOutput(); err != nil {
		t.Fatalf("sh: %v %s", err, out)
	}
}

// udpToListener sends a datagram to a socket on 127.0.0.1 and reads it:
// cgroup_skb/ingress runs only for packets a socket receives.
func udpToListener(t *testing.T) {
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("udp", ln.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ebpfmon")); err != nil {
		t.Fatal(err)
	}
	ln.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := ln.ReadFrom(make([]byte, 16)); err != nil {
		t.Fatalf("the datagram did not arrive (a cgroup_skb program returning 0 drops it): %v", err)
	}
}

func udpToLoopback(t *testing.T) {
	c, err := net.Dial("udp", "127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("ebpfmon"))
}
