package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// corpusDir holds the bad-input corpus: one directory per case, described
// in its README.md.
const corpusDir = "../testdata/bad"

// corpusMinCases is how many cases the corpus must hold at least (issue 11).
const corpusMinCases = 40

// goodConfig is the config served beside the bad ones; goodMetric is the
// metric it exports, which must be there whatever the bad ones do.
const (
	goodConfig = "good"
	goodMetric = "ebpfmon_corpus_good_calls"
)

// corpusCase is one directory of testdata/bad: its name is the config's.
type corpusCase struct {
	name, dir string
	want      map[string][]string // file, field, fix, also: substrings of the error
	object    string              // a source of _objects to build NAME.bpf.o from
	cflags    []string            // more clang flags for NAME.bpf.o
	truncate  int                 // cut NAME.bpf.o to this many bytes; -1: not
	args      []string            // flags: the case runs alone with --config.check
	whole     bool                // the flags refuse the whole run: no config loads
	reload    bool                // before/ holds the version running until a reload
	wantStage string              // the stage config_error_info and /status name; "none": a program is not attached, no load failed
	wantFile  string              // the base name of the file /status says to fix (with a stage)
}

// wantKeys are the manifest's keys for what the error must say.
var wantKeys = []string{"file", "field", "fix", "also"}

// readCorpus reads every case of the corpus.
func readCorpus(t *testing.T) []*corpusCase {
	t.Helper()
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []*corpusCase
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), "_") {
			continue
		}
		c, err := readCase(filepath.Join(corpusDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	if len(cases) < corpusMinCases {
		t.Fatalf("%s holds %d cases, want at least %d", corpusDir, len(cases), corpusMinCases)
	}
	return cases
}

// readCase reads the manifest (want) of the case in dir.
func readCase(dir string) (*corpusCase, error) {
	c := &corpusCase{name: filepath.Base(dir), dir: dir, want: map[string][]string{}, truncate: -1}
	f, err := os.Open(filepath.Join(dir, "want"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		value = strings.ReplaceAll(strings.TrimSpace(value), "{name}", c.name)
		if !ok || value == "" {
			return nil, errorf(dir, n, "want KEY: VALUE, got %q", line)
		}
		switch key {
		case "file", "field", "fix", "also":
			c.want[key] = append(c.want[key], value)
		case "object":
			c.object = value
		case "cflags":
			c.cflags = append(c.cflags, strings.Fields(value)...)
		case "truncate":
			if c.truncate, err = strconv.Atoi(value); err != nil {
				return nil, errorf(dir, n, "truncate: %v", err)
			}
		case "args":
			c.args = append(c.args, value)
		case "whole":
			c.whole = value == "true"
		case "stage":
			c.wantStage, c.wantFile, _ = strings.Cut(value, " ")
		default:
			return nil, errorf(dir, n, "unknown key %q, want one of file field fix also object cflags truncate args whole stage", key)
		}
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	for _, k := range []string{"file", "field", "fix"} {
		if len(c.want[k]) == 0 {
			return nil, errorf(dir, 0, "no %q line: every case says the file, the field and the fix its error names", k)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "before")); err == nil {
		c.reload = true
	}
	if c.wantStage == "" && len(c.args) == 0 {
		return nil, errorf(dir, 0, "no \"stage\" line: a served case says the stage its failure is reported at (parse, validate, load, verifier, attach) and the file to fix, or none")
	}
	if c.reload && len(c.args) > 0 {
		return nil, errorf(dir, 0, "a reload case (before/) takes no args")
	}
	return c, nil
}

// errorf reports a problem in line n of dir's manifest.
func errorf(dir string, n int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", filepath.Join(dir, "want"), n, fmt.Sprintf(format, args...))
}

// objects builds each source of testdata/bad once per test run.
type objects struct {
	mu    sync.Mutex
	built map[string]string // source + flags -> object
	dir   string
}

// build compiles src with the extra flags into an object, once.
func (o *objects) build(t *testing.T, src string, cflags []string) string {
	t.Helper()
	key := src + "\x00" + strings.Join(cflags, " ")
	o.mu.Lock()
	defer o.mu.Unlock()
	if obj, ok := o.built[key]; ok {
		return obj
	}
	obj := filepath.Join(o.dir, strconv.Itoa(len(o.built))+".bpf.o")
	testenv.CompileBPF(t, src, obj, cflags...)
	o.built[key] = obj
	return obj
}

// stage writes the files of case c (or of its before/ version) into dst
// as NAME.yaml and NAME.bpf.o, and anything else the case holds as is.
func (c *corpusCase) stage(t *testing.T, objs *objects, from, dst string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch n := e.Name(); {
		case e.IsDir() || n == "want":
		case strings.HasSuffix(n, ".bpf.c"):
			copyFile(t, objs.build(t, filepath.Join(from, n), c.cflags), filepath.Join(dst, strings.TrimSuffix(n, ".c")+".o"))
		default:
			copyFile(t, filepath.Join(from, n), filepath.Join(dst, n))
		}
	}
	obj := filepath.Join(dst, c.name+".bpf.o")
	if c.object != "" {
		copyFile(t, objs.build(t, filepath.Join(corpusDir, "_objects", c.object+".bpf.c"), c.cflags), obj)
	}
	if c.truncate >= 0 {
		if err := os.Truncate(obj, int64(c.truncate)); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// stageGood writes the good config into dst.
func stageGood(t *testing.T, objs *objects, dst string) {
	t.Helper()
	copyFile(t, filepath.Join(corpusDir, "_good", "good.yaml"), filepath.Join(dst, goodConfig+".yaml"))
	copyFile(t, objs.build(t, filepath.Join(corpusDir, "_good", "good.bpf.c"), nil), filepath.Join(dst, goodConfig+".bpf.o"))
}

// TestBadCorpus runs every case of testdata/bad beside a good config and
// checks each error names the file, the field and the fix, and that the
// good config keeps serving. Cases without flags share one serving
// ebpfmon, scraped over HTTP; reload cases start with their before/
// version and turn bad at a SIGHUP. Cases with flags run --config.check
// each.
func TestBadCorpus(t *testing.T) {
	testenv.Privileged(t)
	cases := readCorpus(t)
	objs := &objects{built: map[string]string{}, dir: t.TempDir()}
	var served, checked []*corpusCase
	for _, c := range cases {
		if len(c.args) > 0 {
			checked = append(checked, c)
		} else {
			served = append(served, c)
		}
	}
	t.Run("served", func(t *testing.T) {
		t.Parallel()
		testServed(t, objs, served)
	})
	for _, c := range checked {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			testChecked(t, objs, c)
		})
	}
}

// testServed serves every case of cases and the good config from one
// directory, reloads once the reload cases are bad, and checks each case.
func testServed(t *testing.T, objs *objects, cases []*corpusCase) {
	dir := t.TempDir()
	stageGood(t, objs, dir)
	for _, c := range cases {
		from := c.dir
		if c.reload {
			from = filepath.Join(c.dir, "before")
		}
		c.stage(t, objs, from, dir)
	}
	in := start(t, "--config.dir="+dir, "--no-config.watch")
	in.eventually(t, "good counting and every config reported", nil, func(ms metrics) bool {
		return ms.sum(goodMetric, nil) > 0 && len(ms.series("ebpfmon_config_loaded", nil)) == len(cases)+1
	})
	for _, c := range cases {
		if c.reload {
			c.stage(t, objs, c.dir, dir)
		}
	}
	if err := in.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	ms := in.reloadsSeen(t, 1)
	before := ms.sum(goodMetric, nil)
	ms = in.eventually(t, "good still counting after the reload", nil, func(ms metrics) bool {
		return ms.sum(goodMetric, nil) > before
	})
	for _, n := range []string{"ebpfmon_config_loaded", "ebpfmon_config_last_load_successful", "ebpfmon_scrape_success"} {
		if v := ms.sum(n, map[string]string{"config": goodConfig}); v != 1 {
			t.Errorf("%s{config=%q} = %v, want 1", n, goodConfig, v)
		}
	}
	logs := in.logText()
	status := in.status(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.checkServed(t, ms)
			c.checkStage(t, ms, status[c.name])
			c.checkError(t, configLines(logs, c.name))
		})
	}
}

// checkServed checks how scrape ms reports case c: a reload case's
// running version keeps serving with its last load failed; any other is
// not loaded, or loaded with a program not attached.
func (c *corpusCase) checkServed(t *testing.T, ms metrics) {
	t.Helper()
	cfg := map[string]string{"config": c.name}
	loaded := ms.sum("ebpfmon_config_loaded", cfg)
	if c.reload {
		if last := ms.sum("ebpfmon_config_last_load_successful", cfg); loaded != 1 || last != 0 {
			t.Errorf("config_loaded %v, config_last_load_successful %v: want 1 and 0 (the running version keeps running)", loaded, last)
		}
		if v := ms.sum("ebpfmon_scrape_success", cfg); v != 1 {
			t.Errorf("scrape_success = %v, want 1: the running version must keep serving", v)
		}
		if v := ms.sum("ebpfmon_ebpf_program_attached", cfg); v == 0 {
			t.Errorf("no program attached: the running version must keep running")
		}
		return
	}
	if loaded == 0 {
		return
	}
	for _, m := range ms.series("ebpfmon_ebpf_program_attached", cfg) {
		if m.GetGauge().GetValue() == 0 {
			return
		}
	}
	t.Errorf("config_loaded = %v with every program attached: want a failure", loaded)
}

// checkStage checks that the metrics and /status put c's failure down to
// the stage its manifest names, and its state: a reload case's running
// version runs (loaded), a case failing at a stage runs none (failed), and
// a program not attached without a failed load is partial.
func (c *corpusCase) checkStage(t *testing.T, ms metrics, st configStatus) {
	t.Helper()
	state := "failed"
	switch {
	case c.wantStage == "none":
		state = "partial"
	case c.reload:
		state = "loaded"
	}
	if got := ms.series("ebpfmon_config_state", map[string]string{"config": c.name, "state": state}); len(got) != 1 || got[0].GetGauge().GetValue() != 1 {
		t.Errorf("config_state{state=%q} = %v, want 1", state, got)
	}
	var stages []string
	for _, m := range ms.series("ebpfmon_config_error_info", map[string]string{"config": c.name}) {
		for _, l := range m.GetLabel() {
			if l.GetName() == "stage" {
				stages = append(stages, l.GetValue())
			}
		}
	}
	want := []string{c.wantStage}
	if c.wantStage == "none" {
		want = nil
	}
	if !slices.Equal(stages, want) {
		t.Errorf("config_error_info stages %q, want %q", stages, want)
	}
	if st.State != state {
		t.Errorf("/status: state %q, want %q", st.State, state)
	}
	switch {
	case c.wantStage == "none" && st.LastError != nil:
		t.Errorf("/status: last error %+v, want none", st.LastError)
	case c.wantStage != "none" && (st.LastError == nil || st.LastError.Stage != c.wantStage || filepath.Base(st.LastError.File) != c.wantFile):
		t.Errorf("/status: last error %+v, want stage %q, file %q", st.LastError, c.wantStage, c.wantFile)
	}
}

// checkError checks out holds every substring c's manifest names.
func (c *corpusCase) checkError(t *testing.T, out string) {
	t.Helper()
	if out == "" {
		t.Fatalf("no error logged for config %q", c.name)
	}
	for _, k := range wantKeys {
		for _, w := range c.want[k] {
			if !strings.Contains(out, w) {
				t.Errorf("the error does not name the %s: no %q in:\n%s", k, w, out)
			}
		}
	}
}

// logUnquote undoes logfmt's quoting of a value.
var logUnquote = strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\n`, "\n", `\t`, "\t")

// configLines returns the log lines about config name, unquoted.
func configLines(logs, name string) string {
	var out []string
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, " config="+name+" ") || strings.HasSuffix(line, " config="+name) ||
			strings.Contains(line, ` config="`+name+`"`) {
			out = append(out, logUnquote.Replace(line))
		}
	}
	return strings.Join(out, "\n")
}

// testChecked runs --config.check with c's flags on c beside the good
// config: it must fail naming what c's manifest says, and, unless the
// flags refuse the whole run, load the good config.
func testChecked(t *testing.T, objs *objects, c *corpusCase) {
	dir := t.TempDir()
	stageGood(t, objs, dir)
	c.stage(t, objs, c.dir, dir)
	args := []string{"--config.dir=" + dir}
	for _, a := range c.args {
		args = append(args, strings.ReplaceAll(a, "{dir}", dir))
	}
	out, ok := check(t, args...)
	if ok {
		t.Fatalf("--config.check succeeded, want failure:\n%s", out)
	}
	c.checkError(t, logUnquote.Replace(out))
	goodLoaded := strings.Contains(out, `msg="config loaded" config=`+goodConfig)
	if !c.whole && !goodLoaded {
		t.Errorf("the good config did not load beside it:\n%s", out)
	}
	if c.whole && goodLoaded {
		t.Errorf("the good config loaded, but %v should refuse the whole run:\n%s", c.args, out)
	}
	if slices.Contains(c.args, "--config.names="+goodConfig) {
		t.Errorf("%s: args name the good config itself", c.dir)
	}
}
