package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

const callsYAML = "testdata/calls.yaml"

// compileBPF builds testdata/SRC.bpf.c into dir/NAME.bpf.o.
func compileBPF(t *testing.T, src, dir, name string) {
	t.Helper()
	testenv.CompileBPF(t, filepath.Join("testdata", src+".bpf.c"), filepath.Join(dir, name+".bpf.o"))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// check runs ebpfmon --config.check and returns its output and whether it
// succeeded.
func check(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	testenv.Privileged(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, ebpfmonBin, append([]string{"--config.check"}, args...)...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("ebpfmon --config.check timed out:\n%s", out)
	}
	if strings.Contains(string(out), "panic:") {
		t.Fatalf("ebpfmon panicked:\n%s", out)
	}
	return string(out), err == nil
}

// checkFails runs ebpfmon --config.check on dir and fails the test unless
// the check fails with output holding every string of want.
func checkFails(t *testing.T, dir string, want ...string) {
	t.Helper()
	out, ok := check(t, "--config.dir="+dir)
	if ok {
		t.Fatalf("check passed:\n%s", out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestBadInput runs --config.check on one broken config per case and checks
// the error names the file, the field or program, and the fix.
func TestBadInput(t *testing.T) {
	good := readFile(t, callsYAML)
	for _, tc := range []struct {
		name string
		yaml string // "" for no NAME.yaml
		src  string // testdata object to compile, "" for none
		raw  string // raw bytes for NAME.bpf.o instead of src
		args []string
		want []string
	}{
		{name: "missing yaml", src: "good", want: []string{"x.yaml", "no such file"}},
		{name: "missing object", yaml: good, want: []string{"x.bpf.o", "no such file", "make examples"}},
		{name: "yaml syntax", yaml: "metrics:\n  counters:\n    - name: [calls\n", src: "good", want: []string{"x.yaml:2:", "did not find expected"}}, // yaml reports where it noticed
		{name: "unknown key", yaml: strings.Replace(good, "help:", "hepl: x\n      help:", 1), src: "good", want: []string{"x.yaml", "hepl"}},
		{name: "missing help", yaml: strings.Replace(good, "help: Calls counted by the test object.", "", 1), src: "good", want: []string{"x.yaml", "help"}},
		{name: "unknown decoder", yaml: strings.Replace(good, "name: uint", "name: unit", 1), src: "good", want: []string{"x.yaml", "decoders[0].name: unknown", "unit", "want one of uint"}},
		{name: "bad regexp", yaml: strings.Replace(good, "- name: uint", "- name: uint\n            - name: regexp\n              regexps: ['(']", 1), src: "good", want: []string{"x.yaml", "regexp"}},
		{name: "enum the kernel lacks", yaml: strings.Replace(good, "- name: uint", "- name: uint\n            - name: btf_enum\n              enum: ebpfmon_no_such_enum", 1), src: "good",
			want: []string{"x.yaml", "labels[0]", "key", "btf_enum", "no enum ebpfmon_no_such_enum in the kernel's BTF", "name the numbers with static_map"}},
		{name: "enum prefix typo", yaml: strings.Replace(good, "- name: uint", "- name: uint\n            - name: btf_enum\n              enum: bpf_map_type\n              strip_prefix: BPF_MAP_TPYE_", 1), src: "good",
			want: []string{"x.yaml", "labels[0]", "key", "BPF_MAP_TPYE_", "starts none of enum bpf_map_type's names", "fix or remove strip_prefix"}},
		{name: "key size mismatch", yaml: strings.Replace(good, "size: 4", "size: 8", 1), src: "good", want: []string{"x.yaml", "map key is 4 bytes", "add up to 8"}},
		{name: "corrupt object", yaml: good, raw: "\x7fELF this is not an object", want: []string{"x.bpf.o", "not a usable BPF object"}},
		{name: "non-BPF ELF", yaml: good, raw: readFile(t, "/bin/true"), want: []string{"x.bpf.o", "not a usable BPF object"}},
		{name: "verifier rejection", yaml: good, src: "verifier", want: []string{"unchecked", "verifier log", "invalid mem access"}},
		{name: "missing hook", yaml: good, src: "nohook", args: []string{"--config.strict"}, want: []string{"program nohook", "ebpfmon_nosuch", "hook not available"}},
		{name: "cgroup_skb program that may drop", yaml: good, src: "dropskb", want: []string{"x.yaml", "program drop_tiny", "cgroup_skb/egress", "may return 0", "return 1 (let the packet through) on every path"}},
		{name: "name given twice", yaml: good, src: "good", args: []string{"--config.names=x"}, want: []string{"--config.names", "x", "given twice"}},
		{name: "no BTF", yaml: good, src: "good", args: []string{"--btf.path=/nonexistent/vmlinux"}, want: []string{"--btf.path", "/nonexistent/vmlinux"}},
		{name: "span ring buffer missing", yaml: good + "tracing:\n  spans:\n    - ringbuf: nosuch\n      labels: [{name: trace_id, size: 16, decoders: [{name: hex}]}]\n", src: "good",
			want: []string{"x.yaml", "tracing.spans[0].ringbuf: no map named", "nosuch", "maps: calls"}},
		{name: "span ring buffer not a ring buffer", yaml: good + "tracing:\n  spans:\n    - ringbuf: calls\n      labels: [{name: trace_id, size: 16, decoders: [{name: hex}]}]\n", src: "good",
			want: []string{"x.yaml", "tracing.spans[0].ringbuf: map", "is a Hash, want a RingBuf"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.yaml != "" {
				writeFile(t, filepath.Join(dir, "x.yaml"), tc.yaml)
			}
			if tc.src != "" {
				compileBPF(t, tc.src, dir, "x")
			}
			if tc.raw != "" {
				writeFile(t, filepath.Join(dir, "x.bpf.o"), tc.raw)
			}
			out, ok := check(t, append([]string{"--config.dir=" + dir, "--config.names=x"}, tc.args...)...)
			if ok {
				t.Fatalf("--config.check succeeded, want failure:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestFentryHere loads an fentry object: it must work where the kernel has
// BPF trampolines and otherwise fail with a message that says why.
func TestFentryHere(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "f.yaml"), readFile(t, callsYAML))
	compileBPF(t, "fentry", dir, "f")
	out, ok := check(t, "--config.dir="+dir, "--config.names=f", "--config.strict")
	if ok {
		t.Logf("fentry loads and attaches on this kernel")
		return
	}
	for _, w := range []string{"on_nanosleep", "fentry/fexit", "BPF trampolines", "use a tp_btf"} {
		if !strings.Contains(out, w) {
			t.Errorf("fentry failure does not mention %q:\n%s", w, out)
		}
	}
	t.Logf("fentry unavailable here, reported as:\n%s", out)
}

// TestBrokenConfigBesideGood serves a good config while a broken one sits
// beside it: the good one exports, the broken one shows config_loaded 0.
func TestBrokenConfigBesideGood(t *testing.T) {
	testenv.Privileged(t)
	dir := t.TempDir()
	good := readFile(t, callsYAML)
	writeFile(t, filepath.Join(dir, "good.yaml"), good)
	compileBPF(t, "good", dir, "good")
	writeFile(t, filepath.Join(dir, "broken.yaml"), good)
	compileBPF(t, "verifier", dir, "broken")
	in := start(t, "--config.dir="+dir)
	ms := in.eventually(t, "good config counting sched_switch", nil, func(ms metrics) bool {
		return ms.sum("ebpfmon_calls", map[string]string{"key": "7"}) > 0
	})
	if v := ms.sum("ebpfmon_config_loaded", map[string]string{"config": "broken"}); v != 0 || len(ms.series("ebpfmon_config_loaded", map[string]string{"config": "broken"})) != 1 {
		t.Errorf("broken config: config_loaded series %v, want one series = 0", ms.series("ebpfmon_config_loaded", map[string]string{"config": "broken"}))
	}
	if v := ms.sum("ebpfmon_config_loaded", map[string]string{"config": "good"}); v != 1 {
		t.Errorf("good config: config_loaded = %v, want 1", v)
	}
	if v := ms.sum("ebpfmon_scrape_success", map[string]string{"config": "good"}); v != 1 {
		t.Errorf("good config: scrape_success = %v, want 1", v)
	}
}
