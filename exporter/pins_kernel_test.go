package exporter

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
	"github.com/ebpfmon/ebpfmon/lifecycle"
)

// pinsConfig is a config of lifecycle/testdata/pins.bpf.c.
const pinsConfig = `metrics:
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
  target_tgid: 1
`

// TestPinsReplacedOnReload reloads a config whose pinned map's
// max_entries changed, then "restarts" (a new exporter on the same pin
// directory): the reload must have pinned the new map in place of the
// old one once the new version ran, so the restart reuses both pins.
// The reload's own health says the map was replaced.
func TestPinsReplacedOnReload(t *testing.T) {
	pinDir := filepath.Join(testenv.BPFFS(t), "ebpfmon")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(pinsConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "p.bpf.o")
	src := filepath.Join("..", "lifecycle", "testdata", "pins.bpf.c")
	pinned := func(e *Exporter, outcome string) float64 {
		v, _ := healthValue(t, e, "ebpfmon_pinned_maps", "config", "p", "outcome", outcome)
		return v
	}
	open := func() *Exporter {
		pins, err := lifecycle.NewPins(pinDir, false)
		if err != nil {
			t.Fatal(err)
		}
		e := New(lifecycle.Options{Namespace: "ebpfmon", Env: decoder.NewEnv(), Pins: pins})
		if res := e.Reload(context.Background(), []Source{{Dir: dir}}, ReloadOptions{Initial: true}); !res.OK() {
			e.Close()
			t.Fatalf("load: %+v", res)
		}
		return e
	}

	testenv.CompileBPF(t, src, obj)
	e := open()
	testenv.CompileBPF(t, src, obj, "-DPIN_CALLS_ENTRIES=64")
	if res := e.Reload(context.Background(), []Source{{Dir: dir}}, ReloadOptions{}); !res.OK() || len(res.Changed) != 1 {
		e.Close()
		t.Fatalf("reload: %+v", res)
	}
	if got := pinned(e, "replaced"); got != 1 {
		t.Errorf("after the reload, replaced = %v, want 1", got)
	}
	e.Close()

	e = open()
	defer e.Close()
	if got, want := [2]float64{pinned(e, "reused"), pinned(e, "replaced")}, [2]float64{2, 0}; got != want {
		t.Errorf("after a restart, reused and replaced = %v, want %v: the reload did not pin its new map", got, want)
	}
}
