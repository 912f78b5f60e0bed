package exporter

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
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
	if _, err := cpuLabelValues(config.Label{Name: "cpu", Size: 16, Decoders: []config.Decoder{{Name: "hex"}}}, decoder.NewEnv(), 2); err == nil {
		t.Error("cpuLabelValues accepted size 16")
	}
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDecoderErrorsByMap checks ebpfmon_decoder_errors_total has a map
// label, starts at 0 for every map, and that the first failures of a map
// are logged at warn, later ones at debug only (issue 7, item 3).
func TestDecoderErrorsByMap(t *testing.T) {
	var logs bytes.Buffer
	u := &Unit{
		cfg:  &config.Config{Name: "c"},
		maps: map[string]*mapHealth{"a": {}, "b": {}},
		log:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	u.noteDecodeErrors("a", gatherStats{decodeErrors: 2, firstErr: errors.New("EIO")})
	u.noteDecodeErrors("a", gatherStats{decodeErrors: 1, firstErr: errors.New("EIO again")})
	u.noteDecodeErrors("b", gatherStats{})
	if got := strings.Count(logs.String(), "level=WARN"); got != 1 {
		t.Errorf("%d warnings, want 1:\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "level=DEBUG") || !strings.Contains(logs.String(), "map=a") {
		t.Errorf("later failures not logged at debug with the map:\n%s", logs.String())
	}
	e := New(Options{Namespace: "ebpfmon"})
	e.units = []*Unit{u}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "ebpfmon_decoder_errors_total" {
			continue
		}
		for _, m := range f.Metric {
			labels := map[string]string{}
			for _, lp := range m.Label {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["config"] != "c" {
				t.Errorf("config label %q", labels["config"])
			}
			got[labels["map"]] = m.GetCounter().GetValue()
		}
	}
	if len(got) != 2 || got["a"] != 3 || got["b"] != 0 {
		t.Errorf("decoder errors by map = %v, want a=3 b=0", got)
	}
	if n, err := testutil.GatherAndCount(reg, "ebpfmon_decoder_errors_total"); err != nil || n != 2 {
		t.Errorf("%d series, %v", n, err)
	}
}
