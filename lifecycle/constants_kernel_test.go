package lifecycle

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// compileBPF builds testdata/SRC.bpf.c into dir/NAME.bpf.o.
func compileBPF(t *testing.T, src, dir, name string) {
	t.Helper()
	testenv.CompileBPF(t, filepath.Join("testdata", src+".bpf.c"), filepath.Join(dir, name+".bpf.o"))
}

const constsYAML = `metrics:
  counters:
    - name: const_seen
      help: What the program saw of its constants.
constants:
  c_u8: 200
  c_s16: -300
  c_u32: 4000000000
  c_s64: -5000000000
  c_bool: true
  c_mode: MODE_ON
  c_comm: "AB"
`

// TestConstantsLoad loads an object with a constant of every supported C
// type set from the YAML, and checks the values in the loaded .rodata and
// what the program computes from them in the kernel.
func TestConstantsLoad(t *testing.T) {
	testenv.Privileged(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "consts.yaml"), []byte(constsYAML))
	compileBPF(t, "consts", dir, "consts")
	cfg, err := config.Load(dir, "consts")
	if err != nil {
		t.Fatal(err)
	}
	u, err := Open(cfg, Options{Env: decoder.NewEnv()})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if errs := u.AttachErrors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	var (
		u8   uint8
		s16  int16
		u32  uint32
		s64  int64
		b    bool
		mode uint32
		comm [16]byte
	)
	for name, out := range map[string]any{"c_u8": &u8, "c_s16": &s16, "c_u32": &u32, "c_s64": &s64, "c_bool": &b, "c_mode": &mode, "c_comm": &comm} {
		if err := u.coll.Variables[name].Get(out); err != nil {
			t.Fatalf("read %s from the loaded object: %v", name, err)
		}
	}
	if u8 != 200 || s16 != -300 || u32 != 4000000000 || s64 != -5000000000 || !b || mode != 3 || string(comm[:3]) != "AB\x00" {
		t.Errorf("loaded constants: %d %d %d %d %t %d %q", u8, s16, u32, s64, b, mode, comm)
	}
	// The program stores the sum at each sched_switch, which on a running
	// system comes within milliseconds; the bound only stops a broken test.
	const want = 200 - 300 + 4000000000 - 5000000000 + 'A' + 'B'
	var got uint64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if err := u.coll.Maps["const_seen"].Lookup(uint32(0), &got); err != nil {
			t.Fatal(err)
		}
		if got != 0 {
			break
		}
	}
	if int64(got) != want {
		t.Errorf("the program computed %d from its constants, want %d", int64(got), want)
	}
}

// TestConstantsLoadBad checks a constant that does not fit stops Open
// before the kernel, naming the file, the constant and the type.
func TestConstantsLoadBad(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "consts.yaml"), []byte(strings.Replace(constsYAML, "c_u8: 200", "c_u8: 300", 1)))
	compileBPF(t, "consts", dir, "consts")
	cfg, err := config.Load(dir, "consts")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(cfg, Options{Env: decoder.NewEnv()})
	for _, want := range []string{cfg.Path, "constants.c_u8: 300 is out of range: C type __u8 wants an integer from 0 to 255"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open: %v; want it to contain %q", err, want)
		}
	}
}
