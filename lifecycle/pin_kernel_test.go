package lifecycle

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// pinsYAML is the config of testdata/pins.bpf.c counting the calls of
// process tgid.
func pinsYAML(tgid int) string {
	return fmt.Sprintf(`metrics:
  counters:
    - name: pin_calls_total
      help: getpgid calls by pid.
      labels:
        - name: pid
          size: 4
          decoders:
            - name: uint
    - name: pin_global_total
      help: getpgid calls.
constants:
  target_tgid: %d
`, tgid)
}

// pinCounts reads the unit's two counters now: the sum of pin_calls_total
// and pin_global_total.
func pinCounts(t *testing.T, u *Unit) (calls, global float64) {
	t.Helper()
	fams, err := u.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		for _, m := range f.Metric {
			switch f.GetName() {
			case "pin_calls_total":
				calls += m.GetCounter().GetValue()
			case "pin_global_total":
				global += m.GetCounter().GetValue()
			}
		}
	}
	return calls, global
}

// callGetpgid makes n getpgid calls and waits until u counts want of
// them in all; the program counts them as they are made, so the wait is
// short, and bounded only to stop a broken test.
func callGetpgid(t *testing.T, u *Unit, n int, want float64) {
	t.Helper()
	for range n {
		if _, err := unix.Getpgid(0); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, global := pinCounts(t, u); global == want || time.Now().After(deadline) {
			return
		}
	}
}

// TestPins opens testdata/pins.bpf.o with --bpf.pin-path again and again,
// each step making calls and checking what the unit counts: the pins are
// created, then reused by a restart (the counts continue), by a reload
// (the new version opened while the old one runs), replaced when
// pin_calls_total's max_entries changes (reported in the log and the
// health), and removed by --bpf.reset-pins, once: a reload after it
// continues.
func TestPins(t *testing.T) {
	root := testenv.BPFFS(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "p.yaml"), []byte(pinsYAML(os.Getpid())))
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var pins *Pins // this "process"'s
	open := func(t *testing.T, src string, reload, reset bool) *Unit {
		t.Helper()
		compileBPF(t, src, dir, "p")
		cfg, err := config.Load(dir, "p")
		if err != nil {
			t.Fatal(err)
		}
		if !reload {
			pins.Close() // the previous "process" exits
			if pins, err = NewPins(filepath.Join(root, "ebpfmon"), reset); err != nil {
				t.Fatal(err)
			}
		}
		u, err := Open(cfg, Options{Env: decoder.NewEnv(), Pins: pins, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		if errs := u.AttachErrors(); len(errs) > 0 {
			t.Fatal(errs)
		}
		return u
	}
	var old *Unit // the running version, for the reload step
	for _, step := range []struct {
		name   string
		src    string
		reset  bool      // --bpf.reset-pins
		reload bool      // open in the same process, before closing the previous step's unit
		fail   bool      // with reload: the new version fails after loading (never runs): closed, the old one kept
		pins   PinHealth // what loading did with the pins
		before [2]float64
		calls  int
		after  [2]float64
		warn   string // in the log
	}{
		{name: "first", src: "pins", pins: PinHealth{Created: 2}, calls: 3, after: [2]float64{3, 3}},
		{name: "restart", src: "pins", pins: PinHealth{Reused: 2}, before: [2]float64{3, 3}, calls: 2, after: [2]float64{5, 5}},
		{name: "reload", src: "pins", reload: true, pins: PinHealth{Reused: 2}, before: [2]float64{5, 5}, calls: 1, after: [2]float64{6, 6}},
		{name: "failed reload, max_entries changed", src: "pins_big", reload: true, fail: true, pins: PinHealth{Reused: 1, Replaced: 1}, before: [2]float64{0, 6},
			warn: "map=pin_calls_total old=\"Hash key_size=4 value_size=8 max_entries=8 flags=0x0\" new=\"Hash key_size=4 value_size=8 max_entries=64 flags=0x0\""},
		{name: "restart after a failed reload", src: "pins", pins: PinHealth{Reused: 2}, before: [2]float64{6, 6}, calls: 1, after: [2]float64{7, 7}},
		{name: "max_entries changed", src: "pins_big", pins: PinHealth{Reused: 1, Replaced: 1}, before: [2]float64{0, 7}, calls: 1, after: [2]float64{1, 8},
			warn: "map=pin_calls_total old=\"Hash key_size=4 value_size=8 max_entries=8 flags=0x0\" new=\"Hash key_size=4 value_size=8 max_entries=64 flags=0x0\""},
		{name: "restart after replacing", src: "pins_big", pins: PinHealth{Reused: 2}, before: [2]float64{1, 8}},
		{name: "reset", src: "pins_big", reset: true, pins: PinHealth{Created: 2}, calls: 2, after: [2]float64{2, 2}},
		{name: "reload after reset", src: "pins_big", reload: true, pins: PinHealth{Reused: 2}, before: [2]float64{2, 2}, calls: 1, after: [2]float64{3, 3}},
	} {
		t.Run(step.name, func(t *testing.T) {
			logs.Reset()
			if old != nil && !step.reload {
				old.Close()
			}
			u := open(t, step.src, step.reload, step.reset)
			switch {
			case step.fail:
				defer u.Close() // after the checks; old keeps running
			case old != nil && step.reload:
				old.Close()
			}
			if !step.fail {
				if err := u.CommitPins(); err != nil { // it runs: the exporter commits it
					t.Fatal(err)
				}
				old = u
			}
			if h := u.Health(false).Pins; h == nil || *h != step.pins {
				t.Errorf("pins %+v, want %+v", h, step.pins)
			}
			if c, g := pinCounts(t, u); c != step.before[0] || g != step.before[1] {
				t.Errorf("counts when opened: calls %v, global %v; want %v", c, g, step.before)
			}
			if step.calls > 0 {
				callGetpgid(t, u, step.calls, step.after[1])
				if c, g := pinCounts(t, u); c != step.after[0] || g != step.after[1] {
					t.Errorf("counts after %d calls: calls %v, global %v; want %v", step.calls, c, g, step.after)
				}
			}
			if step.warn != "" && !strings.Contains(logs.String(), step.warn) {
				t.Errorf("log lacks %s:\n%s", step.warn, logs.String())
			}
			if step.warn == "" && strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("unexpected warning:\n%s", logs.String())
			}
			entries, err := os.ReadDir(filepath.Join(root, "ebpfmon", "p"))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if want := []string{"pin_calls_total", "pin_global_total"}; !slices.Equal(names, want) {
				t.Errorf("pinned %v, want %v (the exported maps, not .rodata)", names, want)
			}
		})
	}
	if old != nil {
		old.Close()
	}
	pins.Close()
}

// TestPinsBadInput checks what --bpf.pin-path refuses, naming the flag or
// the pin and the fix: a directory not on a bpf filesystem, and a pinned
// object that is not a map where a map is to be pinned.
func TestPinsBadInput(t *testing.T) {
	root := testenv.BPFFS(t)
	notBPF := t.TempDir()
	toRoot, toRootOutside := filepath.Join(root, "to-root"), filepath.Join(notBPF, "to-root")
	for _, link := range []string{toRoot, toRootOutside} {
		if err := os.Symlink(root, link); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		dir  string
		want []string // "" for no error
	}{
		{"in a bpffs", filepath.Join(root, "ebpfmon"), nil},
		{"bpffs root", root, []string{"--bpf.pin-path " + root + ": the root of a bpf filesystem", "such as " + root + "/ebpfmon"}},
		{"in a bpffs, to be created", filepath.Join(root, "a", "b"), nil},
		{"bpffs root, trailing slashes", root + "//", []string{"the root of a bpf filesystem"}},
		{"bpffs root, dot-dot", filepath.Join(root, "a") + "/..", []string{"the root of a bpf filesystem"}},
		{"symlink in the bpffs to its root", toRoot, []string{"--bpf.pin-path " + toRoot + ": the root of a bpf filesystem"}},
		{"symlink elsewhere to a bpffs root", toRootOutside, []string{"the root of a bpf filesystem"}},
		{"under a symlink to a bpffs root", filepath.Join(toRoot, "ebpfmon"), nil},
		{"not bpffs", notBPF, []string{"--bpf.pin-path " + notBPF, "is not on a bpf filesystem", "mount -t bpf bpf /sys/fs/bpf"}},
		{"not bpffs, to be created", filepath.Join(notBPF, "x"), []string{notBPF + " is not on a bpf filesystem", "mount -t bpf"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pins, err := NewPins(tc.dir, false)
			defer pins.Close()
			if tc.want == nil {
				if err != nil {
					t.Errorf("want no error, got %v", err)
				}
				return
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v lacks %q", err, w)
				}
			}
			if _, err := os.Stat(filepath.Join(notBPF, "x")); err == nil {
				t.Errorf("NewPins created a directory outside bpffs")
			}
		})
	}

	t.Run("config directory is a pinned map", func(t *testing.T) {
		cfg, pins := pinsConfig(t, root, "q")
		m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		path := pins.Dir("q")
		if err := m.Pin(path); err != nil {
			t.Fatal(err)
		}
		openFails(t, cfg, pins, "config q", "--bpf.pin-path", path+" is not a directory", "rm "+path, "--bpf.reset-pins")
	})

	t.Run("pinned program", func(t *testing.T) {
		cfg, pins := pinsConfig(t, root, "p")
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.SocketFilter, License: "GPL",
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
		if err != nil {
			t.Fatal(err)
		}
		defer prog.Close()
		path := filepath.Join(pins.Dir("p"), "pin_calls_total")
		if err := os.MkdirAll(pins.Dir("p"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := prog.Pin(path); err != nil {
			t.Fatal(err)
		}
		openFails(t, cfg, pins, "config p", "--bpf.pin-path", path+" is not a Map", "rm "+path, "--bpf.reset-pins")
		if _, err := ebpf.LoadPinnedProgram(path, nil); err != nil {
			t.Errorf("the program's pin was touched: %v", err)
		}
	})
}

// pinsConfig writes and loads config name of testdata/pins.bpf.c in a
// temporary directory, and opens the pins of root/ebpfmon (closed at the
// end of the test).
func pinsConfig(t *testing.T, root, name string) (*config.Config, *Pins) {
	t.Helper()
	dir := t.TempDir()
	write(t, filepath.Join(dir, name+".yaml"), []byte(pinsYAML(os.Getpid())))
	compileBPF(t, "pins", dir, name)
	cfg, err := config.Load(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	pins, err := NewPins(filepath.Join(root, "ebpfmon"), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pins.Close() })
	return cfg, pins
}

// openFails opens cfg with pins and fails the test unless that fails with
// an error holding every string of want.
func openFails(t *testing.T, cfg *config.Config, pins *Pins, want ...string) {
	t.Helper()
	u, err := Open(cfg, Options{Env: decoder.NewEnv(), Pins: pins})
	if err == nil {
		u.Close()
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Open: %v; want it to contain %q", err, w)
		}
	}
}

// TestPinsLocked checks that a second NewPins on a directory in use (a
// second ebpfmon, which would count every event twice into the same
// maps) is refused at once, naming the directory and the fix, and is
// accepted once the first is closed (the first ebpfmon exited).
func TestPinsLocked(t *testing.T) {
	dir := filepath.Join(testenv.BPFFS(t), "ebpfmon")
	first, err := NewPins(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	second, err := NewPins(dir, true)
	if err == nil {
		second.Close()
		first.Close()
		t.Fatal("a second NewPins on a directory in use was accepted")
	}
	for _, w := range []string{"--bpf.pin-path " + dir, "another process", "count every event twice", "stop the other one first, or give each its own directory"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	third, err := NewPins(dir, false)
	if err != nil {
		t.Fatalf("NewPins after the first was closed: %v", err)
	}
	third.Close()
}
