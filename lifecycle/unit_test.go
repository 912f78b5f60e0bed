package lifecycle

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
	"github.com/ebpfmon/ebpfmon/series"
)

// TestCPULabelSize gives pagefaults' per-CPU map a cpu label of 16 bytes,
// which used to panic the process when the map was bound (issue 7, item
// 7): it must be a config error found before anything is loaded, naming
// the file and the field. Sizes 0, 2, 4 and 8 load.
func TestCPULabelSize(t *testing.T) {
	obj, err := os.ReadFile("../examples/pagefaults.bpf.o")
	if err != nil {
		t.Fatalf("examples/pagefaults.bpf.o: %v (run `make examples`)", err)
	}
	yaml, err := os.ReadFile("../examples/pagefaults.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const cpuLabel = "        - name: cpu\n          size: 0\n          decoders:\n            - name: uint\n"
	if !bytes.Contains(yaml, []byte(cpuLabel)) {
		t.Fatalf("pagefaults.yaml has no cpu label of size 0:\n%s", yaml)
	}
	for _, tc := range []struct {
		size, decoder string
		want          string // "" for no error
	}{
		{"0", "uint", ""},
		{"2", "uint", ""},
		{"4", "uint", ""},
		{"8", "hex", ""},
		{"16", "hex", "pf.yaml does not match"},
		{"3", "hex", "metrics.counters[0].labels[2].size: 3 for the per-CPU label \"cpu\""},
	} {
		t.Run(tc.size, func(t *testing.T) {
			dir := t.TempDir()
			label := strings.NewReplacer("size: 0", "size: "+tc.size, "name: uint", "name: "+tc.decoder).Replace(cpuLabel)
			write(t, filepath.Join(dir, "pf.yaml"), bytes.Replace(yaml, []byte(cpuLabel), []byte(label), 1))
			write(t, filepath.Join(dir, "pf.bpf.o"), obj)
			cfg, err := config.Load(dir, "pf")
			if err != nil {
				t.Fatal(err)
			}
			_, err = LoadSpec(cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			for _, want := range []string{tc.want, "metrics.counters[0].labels[2].size: " + tc.size, "want 0, 2, 4 or 8", cfg.Path} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v lacks %q", err, want)
				}
			}
			// Open stops at the same check, before loading: no privileges needed.
			if _, err := Open(cfg, Options{Env: decoder.NewEnv()}); err == nil || !strings.Contains(err.Error(), "want 0, 2, 4 or 8") {
				t.Errorf("Open: %v", err)
			}
		})
	}
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDecoderErrorsByMap checks that decode failures are counted per map,
// every map starting at 0, and that the first failures of a map are
// logged at warn, later ones at debug only (issue 7, item 3). The
// collector's side is exporter's TestDecoderErrorsMetric.
func TestDecoderErrorsByMap(t *testing.T) {
	var logs bytes.Buffer
	u := &Unit{
		cfg:  &config.Config{Name: "c"},
		maps: map[string]*mapHealth{"b": {}, "a": {}},
		log:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	u.noteDecodeErrors("a", series.GatherStats{DecodeErrors: 2, FirstErr: errors.New("EIO")})
	u.noteDecodeErrors("a", series.GatherStats{DecodeErrors: 1, FirstErr: errors.New("EIO again")})
	u.noteDecodeErrors("b", series.GatherStats{})
	if got := strings.Count(logs.String(), "level=WARN"); got != 1 {
		t.Errorf("%d warnings, want 1:\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "level=DEBUG") || !strings.Contains(logs.String(), "map=a") {
		t.Errorf("later failures not logged at debug with the map:\n%s", logs.String())
	}
	h := u.Health(false)
	if want := []MapCount{{"a", 3}, {"b", 0}}; h.Config != "c" || !slices.Equal(h.DecodeErrors, want) {
		t.Errorf("health: config %q, decode errors %v; want c, %v", h.Config, h.DecodeErrors, want)
	}
}

// TestProgramInfoErrors closes a program before ebpfmon asks the kernel
// about it: its info and stats cannot be read, so the unit reports neither
// (the collector then leaves ebpf_program_info and the run metrics out, see
// exporter's TestProgramMetrics) and logs the reasons.
func TestProgramInfoErrors(t *testing.T) {
	testenv.Privileged(t)
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.SocketFilter, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	if err != nil {
		t.Fatal(err)
	}
	prog.Close()
	var logs strings.Builder
	u := &Unit{cfg: &config.Config{Name: "c"}, log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	p := &program{name: "p", prog: prog}
	u.readInfo(p)
	u.programs = []*program{p}
	h := u.Health(true)
	if len(h.Programs) != 1 || h.Programs[0].InfoOK || h.Programs[0].Stats != nil || h.Programs[0].Err != nil {
		t.Errorf("programs %+v, want p attached, without info or stats", h.Programs)
	}
	for _, want := range []string{"program info unavailable", "program stats unavailable"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}
