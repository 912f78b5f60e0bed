package decoder

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ebpfmon/ebpfmon/config"
)

// TestEnvLoadsOnce builds decoders needing every lookup concurrently, then
// removes the files behind them: later decoders of the same Env still
// build and decode, as each lookup was loaded once.
func TestEnvLoadsOnce(t *testing.T) {
	proc, pciDir, cgroupRoot := t.TempDir(), t.TempDir(), t.TempDir()
	kallsymsData, err := os.ReadFile("testdata/proc/kallsyms")
	if err != nil {
		t.Fatal(err)
	}
	pciData, err := os.ReadFile("testdata/pci.ids")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(proc, "kallsyms"), string(kallsymsData))
	writeFile(t, filepath.Join(pciDir, "pci.ids"), string(pciData))
	env := testEnv(t, WithProcRoot(proc), WithPCIIDs(filepath.Join(pciDir, "pci.ids")), WithCgroupRoot(cgroupRoot))
	labels := []config.Label{
		{Name: "fn", Size: 8, Decoders: one("ksym")},
		{Name: "stack", Size: 16, Decoders: one("kstack")},
		{Name: "class", Size: 1, Decoders: withUint(config.Decoder{Name: "pci_class"})},
		{Name: "cgroup", Size: 8, Decoders: withUint(config.Decoder{Name: "cgroup"})},
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := NewLabelSet(labels, env); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	for _, path := range []string{filepath.Join(proc, "kallsyms"), filepath.Join(pciDir, "pci.ids"), cgroupRoot} {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := NewLabelSet(labels, env); err != nil {
		t.Fatalf("NewLabelSet after the files went away: %v", err)
	}
	ls, err := NewLabelSet(labels[:3], env) // the cgroup walk needs its root
	if err != nil {
		t.Fatal(err)
	}
	got, err := ls.Decode(append(u64s(0xffffffff81001000, 0xffffffff81001010, 0), 2), nil)
	if err != nil || got[0] != "vfs_read" || got[1] != "vfs_read" || got[2] != "Network controller" {
		t.Errorf("Decode = %q, %v", got, err)
	}
}

// TestEnvLoadErrorSticks checks that a failed load is not retried: the Env
// reports the first error to every later decoder.
func TestEnvLoadErrorSticks(t *testing.T) {
	proc := t.TempDir()
	env := testEnv(t, WithProcRoot(proc))
	if _, err := New(config.Decoder{Name: "ksym"}, env); err == nil {
		t.Fatal("New(ksym) without kallsyms: want an error")
	}
	writeFile(t, filepath.Join(proc, "kallsyms"), "ffffffff81000000 T _stext\n")
	if _, err := New(config.Decoder{Name: "kstack"}, env); err == nil {
		t.Error("New(kstack) after kallsyms appeared: want the first error again")
	}
}
