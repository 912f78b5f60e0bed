package configs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = "../.."

// countC counts the signals the kernel generates, by signal number.
const countC = `// SPDX-License-Identifier: GPL-2.0
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} signals_total SEC(".maps");

SEC("tracepoint/signal/signal_generate")
int signal_generate(struct trace_event_raw_signal_generate *ctx)
{
	__u32 sig = ctx->sig;

	increment_map(&signals_total, &sig, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
`

// countYAML is countC's metric; size is the signal label's size (the key
// is 4 bytes).
func countYAML(size int) string {
	return fmt.Sprintf(`metrics:
  counters:
    - name: signals_total
      help: Signals generated, by number
      labels:
        - name: signal
          size: %d
          decoders: [{name: uint}]
`, size)
}

// brokenC does not compile: an undeclared identifier on line 5.
const brokenC = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tracepoint/signal/signal_generate")
int broken(void *ctx) { return undeclared_thing; }

char LICENSE[] SEC("license") = "GPL";
`

// file is one file a case writes into its config directory.
type file struct{ name, text string }

// configCase is one run of the script on a fresh directory.
type configCase struct {
	name  string
	files []file
	// how: "make" (make -C repo configs DIR=...), "share" (the script
	// installed as PREFIX/share/ebpfmon/configs.sh) or "bin" (as
	// PREFIX/bin/ebpfmon-configs); the installed ones run outside the
	// repository, with PREFIX/bin on PATH.
	how    string
	check  bool     // run --config.check (needs root and BPF)
	ok     bool     // exit status 0
	want   []string // regexps the output must match; DIR is the directory
	built  []string // objects that must exist afterwards
	absent []string // objects that must not
}

// TestConfigsCompile runs the compile half (CHECK=0), which needs clang
// but no privileges.
func TestConfigsCompile(t *testing.T) {
	runCases(t, []configCase{
		{
			name: "one good config", how: "make",
			files: []file{{"count.bpf.c", countC}, {"count.yaml", countYAML(4)}},
			ok:    true, want: []string{`compile DIR/count\.bpf\.c: ok`}, built: []string{"count.bpf.o"},
		},
		{
			name: "a broken file is reported by name and the good one still builds", how: "make",
			files: []file{{"broken.bpf.c", brokenC}, {"count.bpf.c", countC}, {"count.yaml", countYAML(4)}},
			want: []string{
				`compile DIR/broken\.bpf\.c: FAILED`,
				`DIR/broken\.bpf\.c:5:\d+: error: use of undeclared identifier 'undeclared_thing'`,
				`compile DIR/count\.bpf\.c: ok`,
			},
			built: []string{"count.bpf.o"}, absent: []string{"broken.bpf.o"},
		},
		{
			name: "a .bpf.c without its YAML fails", how: "make",
			files: []file{{"count.bpf.c", countC}},
			want:  []string{`check count: FAILED: no DIR/count\.yaml`}, built: []string{"count.bpf.o"},
		},
		{
			name: "a YAML without its .bpf.c fails", how: "make",
			files: []file{{"count.bpf.c", countC}, {"count.yaml", countYAML(4)}, {"orphan.yaml", countYAML(4)}},
			want:  []string{`compile DIR/count\.bpf\.c: ok`, `check orphan: FAILED: no DIR/orphan\.bpf\.c \(nor orphan\.bpf\.o\)`}, built: []string{"count.bpf.o"},
		},
		{
			name: "only a YAML fails", how: "make",
			files: []file{{"orphan.yaml", countYAML(4)}},
			want:  []string{`check orphan: FAILED: no DIR/orphan\.bpf\.c`},
		},
		{
			name: "installed as share/ebpfmon/configs.sh", how: "share",
			files: []file{{"count.bpf.c", countC}, {"count.yaml", countYAML(4)}},
			ok:    true, want: []string{`headers from PREFIX/share/ebpfmon/include`, `compile DIR/count\.bpf\.c: ok`}, built: []string{"count.bpf.o"},
		},
		{
			name: "installed as bin/ebpfmon-configs", how: "bin",
			files: []file{{"count.bpf.c", countC}, {"count.yaml", countYAML(4)}},
			ok:    true, want: []string{`headers from PREFIX/share/ebpfmon/include`, `compile DIR/count\.bpf\.c: ok`}, built: []string{"count.bpf.o"},
		},
	})
}

// TestConfigsCheck runs the whole script: compile, then ebpfmon
// --config.check, which loads and attaches the programs.
func TestConfigsCheck(t *testing.T) {
	testenv.Privileged(t)
	runCases(t, []configCase{
		{
			name: "one good config", how: "make", check: true,
			files: []file{{"count.bpf.c", countC}, {"count.yaml", countYAML(4)}},
			ok:    true, want: []string{`compile DIR/count\.bpf\.c: ok`, `check count: ok`}, built: []string{"count.bpf.o"},
		},
		{
			name: "a broken file beside a good config", how: "make", check: true,
			files: []file{{"broken.bpf.c", brokenC}, {"count.bpf.c", countC}, {"count.yaml", countYAML(4)}},
			want: []string{
				`compile DIR/broken\.bpf\.c: FAILED`,
				`DIR/broken\.bpf\.c:5:\d+: error: use of undeclared identifier`,
				`check count: ok`,
			},
			built: []string{"count.bpf.o"}, absent: []string{"broken.bpf.o"},
		},
		{
			name: "a YAML that does not match its object fails naming the field", how: "make", check: true,
			files: []file{{"count.bpf.c", countC}, {"count.yaml", countYAML(8)}, {"other.bpf.c", strings.ReplaceAll(countC, "signals_total", "other_signals_total")},
				{"other.yaml", strings.ReplaceAll(countYAML(4), "signals_total", "other_signals_total")}},
			want: []string{
				`check count: FAILED: DIR/count\.yaml does not match DIR/count\.bpf\.o:\n\s+metrics\.counters\[0\]: map key is 4 bytes but the labels' size\+padding add up to 8`,
				`check other: ok`,
			},
			built: []string{"count.bpf.o", "other.bpf.o"},
		},
		{
			name: "the reason's quotes are printed as ebpfmon gave them", how: "make", check: true,
			files: []file{{"count.bpf.c", countC}, {"count.yaml", strings.ReplaceAll(countYAML(4), "signals_total", "nosuch_total")}},
			want:  []string{`check count: FAILED: DIR/count\.yaml does not match DIR/count\.bpf\.o:\n\s+metrics\.counters\[0\]: no map named "nosuch_total"`},
			built: []string{"count.bpf.o"},
		},
		{
			name: "installed as share/ebpfmon/configs.sh", how: "share", check: true,
			files: []file{{"count.bpf.c", countC}, {"count.yaml", countYAML(4)}},
			ok:    true, want: []string{`headers from PREFIX/share/ebpfmon/include`, `check count: ok`}, built: []string{"count.bpf.o"},
		},
	})
}

func runCases(t *testing.T, cases []configCase) {
	t.Helper()
	for _, tool := range []string{"make", "clang-19", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unavailable(t, "%s not installed (make setup installs it)", tool)
		}
	}
	bin := buildEbpfmon(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range c.files {
				if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, prefix, err := runScript(t, c, dir, bin)
			t.Logf("output:\n%s", out)
			if (err == nil) != c.ok {
				t.Errorf("exit: %v, want success %v", err, c.ok)
			}
			for _, w := range c.want {
				w = strings.ReplaceAll(w, "DIR", regexp.QuoteMeta(dir))
				w = strings.ReplaceAll(w, "PREFIX", regexp.QuoteMeta(prefix))
				if !regexp.MustCompile(w).MatchString(out) {
					t.Errorf("output does not match %s", w)
				}
			}
			for _, o := range c.built {
				if _, err := os.Stat(filepath.Join(dir, o)); err != nil {
					t.Errorf("%s not built: %v", o, err)
				}
			}
			for _, o := range c.absent {
				if _, err := os.Stat(filepath.Join(dir, o)); err == nil {
					t.Errorf("%s exists, want none (its source does not compile)", o)
				}
			}
		})
	}
}

// runScript runs c's script on dir and returns its output and the
// installed prefix (if any).
func runScript(t *testing.T, c configCase, dir, bin string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	check := "0"
	if c.check {
		check = "1"
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	prefix := ""
	switch c.how {
	case "make":
		cmd = exec.CommandContext(ctx, "make", "-s", "-C", root, "configs", "DIR="+dir, "EBPFMON="+bin, "CHECK="+check)
	case "share", "bin":
		prefix = install(t, root, bin)
		script := filepath.Join(prefix, "share", "ebpfmon", "configs.sh")
		if c.how == "bin" {
			script = filepath.Join(prefix, "bin", "ebpfmon-configs")
		}
		cmd = exec.CommandContext(ctx, "bash", script, dir)
		cmd.Dir = t.TempDir() // not the repository
		cmd.Env = append(withoutEnv(os.Environ(), "PATH", "INCLUDE", "EBPFMON"),
			"PATH="+filepath.Join(prefix, "bin")+":"+os.Getenv("PATH"), "CHECK="+check)
	default:
		t.Fatalf("unknown how %q", c.how)
	}
	out, err := cmd.CombinedOutput()
	return string(out), prefix, err
}

// install lays out what an installed copy has: PREFIX/bin/ebpfmon, the
// headers in PREFIX/share/ebpfmon/include, and the script both as
// PREFIX/share/ebpfmon/configs.sh and PREFIX/bin/ebpfmon-configs.
func install(t *testing.T, root, bin string) string {
	t.Helper()
	prefix := t.TempDir()
	include := filepath.Join(prefix, "share", "ebpfmon", "include")
	for _, d := range []string{filepath.Join(prefix, "bin"), include} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	headers, err := filepath.Glob(filepath.Join(root, "include", "*.h"))
	if err != nil || len(headers) == 0 {
		t.Fatalf("no headers in %s/include: %v", root, err)
	}
	script := filepath.Join(root, "scripts", "configs.sh")
	copies := [][2]string{ // from, to
		{bin, filepath.Join(prefix, "bin", "ebpfmon")},
		{script, filepath.Join(prefix, "share", "ebpfmon", "configs.sh")},
		{script, filepath.Join(prefix, "bin", "ebpfmon-configs")},
	}
	for _, h := range headers {
		copies = append(copies, [2]string{h, filepath.Join(include, filepath.Base(h))})
	}
	for _, c := range copies {
		raw, err := os.ReadFile(c[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(c[1], raw, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return prefix
}

// withoutEnv returns env without the given variables.
func withoutEnv(env []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, name)
	})
}

// buildEbpfmon builds the ebpfmon binary into a temporary directory.
func buildEbpfmon(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ebpfmon")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/ebpfmon")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build ebpfmon: %v\n%s", err, out)
	}
	return bin
}

// TestScriptFlagsMatchMakefile checks scripts/configs.sh compiles with
// the flags of the Makefile's BPF_CFLAGS (include directories aside), so a
// config built by `make configs` is built like the examples.
func TestScriptFlagsMatchMakefile(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "configs.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^BPF_CFLAGS := ((?:.*\\\n)*.*)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("no BPF_CFLAGS := in the Makefile")
	}
	s := regexp.MustCompile(`(?m)^BPF_CFLAGS=\((.*)\)$`).FindSubmatch(script)
	if s == nil {
		t.Fatal("no BPF_CFLAGS=(...) in scripts/configs.sh")
	}
	var want []string
	for _, f := range strings.Fields(strings.ReplaceAll(string(m[1]), "\\\n", " ")) {
		if f == "-I" || f == "include" || strings.HasPrefix(f, "-I") {
			continue // the script finds its own include directories
		}
		want = append(want, strings.ReplaceAll(f, "$(BPF_ARCH)", "$BPF_ARCH"))
	}
	var got []string
	for _, f := range strings.Fields(string(s[1])) {
		got = append(got, strings.Trim(f, `"`))
	}
	if !slices.Equal(got, want) {
		t.Errorf("scripts/configs.sh BPF_CFLAGS = %q, want the Makefile's %q", got, want)
	}
}

// TestReadmeWalkthrough builds and checks the config of README's "Your
// own metric" (its first c and yaml blocks), so the walk-through keeps
// working as the code changes.
func TestReadmeWalkthrough(t *testing.T) {
	testenv.Privileged(t)
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Your own metric\n")
	if !ok {
		t.Fatal(`README.md has no "## Your own metric" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	block := func(lang string) string {
		m := regexp.MustCompile("(?s)\n```" + lang + "\n(.*?)\n```\n").FindStringSubmatch(section)
		if m == nil {
			t.Fatalf("no %s block in README's Your own metric", lang)
		}
		return m[1] + "\n"
	}
	runCases(t, []configCase{{
		name: "signals", how: "make", check: true,
		files: []file{{"signals.bpf.c", block("c")}, {"signals.yaml", block("yaml")}},
		ok:    true, want: []string{`check signals: ok`}, built: []string{"signals.bpf.o"},
	}})
}
