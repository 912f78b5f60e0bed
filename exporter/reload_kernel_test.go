package exporter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
	"github.com/ebpfmon/ebpfmon/lifecycle"
)

// reloadDir copies the named bundled examples into a new directory and
// returns it with an exporter that has loaded them.
func reloadDir(t *testing.T, names ...string) (string, *Exporter) {
	return reloadDirLog(t, os.Stderr, names...)
}

// reloadDirLog is reloadDir with the exporter's log (warnings and
// errors) written to w.
func reloadDirLog(t *testing.T, w io.Writer, names ...string) (string, *Exporter) {
	t.Helper()
	testenv.Privileged(t)
	dir := t.TempDir()
	for _, n := range names {
		for _, ext := range []string{".yaml", ".bpf.o"} {
			copyFile(t, filepath.Join("../examples", n+ext), filepath.Join(dir, n+ext))
		}
	}
	exp := New(lifecycle.Options{Namespace: "ebpfmon", Env: decoder.NewEnv(), Logger: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	t.Cleanup(exp.Close)
	if res := exp.Reload(context.Background(), []Source{{Dir: dir}}, ReloadOptions{Initial: true}); !res.OK() {
		t.Fatalf("initial load: %+v", res)
	}
	return dir, exp
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	raw, err := os.ReadFile(from)
	if err != nil {
		t.Fatalf("%v (run `make examples`)", err)
	}
	if err := os.WriteFile(to, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// unitsByName maps each loaded config to its unit.
func unitsByName(e *Exporter) map[string]*lifecycle.Unit {
	out := map[string]*lifecycle.Unit{}
	for _, u := range e.Units() {
		out[u.Name()] = u
	}
	return out
}

// healthValue returns the value of the health metric name with labels
// (nil: none), and whether it is exported.
func healthValue(t *testing.T, e *Exporter, name string, labels ...string) (float64, bool) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.Metric {
			if hasLabelPairs(m, labels) {
				if m.Counter != nil {
					return m.Counter.GetValue(), true
				}
				return m.Gauge.GetValue(), true
			}
		}
	}
	return 0, false
}

func hasLabelPairs(m *dto.Metric, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		if !slices.ContainsFunc(m.Label, func(lp *dto.LabelPair) bool { return lp.GetName() == kv[i] && lp.GetValue() == kv[i+1] }) {
			return false
		}
	}
	return true
}

// TestReload walks one directory through a reload of each kind: unchanged,
// changed, broken YAML, object gone, restored, added, removed. Unchanged
// configs keep their unit; a failed config keeps its old one.
func TestReload(t *testing.T) {
	dir, exp := reloadDir(t, "timers", "syscalls")
	reload := func() ReloadResult {
		t.Helper()
		return exp.Reload(context.Background(), []Source{{Dir: dir}}, ReloadOptions{})
	}
	check := func(step string, res ReloadResult, want ReloadResult) {
		t.Helper()
		for _, l := range []struct {
			what      string
			got, want []string
		}{{"added", res.Added, want.Added}, {"changed", res.Changed, want.Changed}, {"removed", res.Removed, want.Removed}, {"unchanged", res.Unchanged, want.Unchanged}} {
			if !slices.Equal(l.got, l.want) {
				t.Errorf("%s: %s = %q, want %q", step, l.what, l.got, l.want)
			}
		}
		var failed []string
		for _, c := range res.Failed {
			failed = append(failed, c.Config)
		}
		var wantFailed []string
		for _, c := range want.Failed {
			wantFailed = append(wantFailed, c.Config)
		}
		if !slices.Equal(failed, wantFailed) || res.Err != nil {
			t.Errorf("%s: failed %q (err %v), want %q", step, failed, res.Err, wantFailed)
		}
		ok, _ := healthValue(t, exp, "ebpfmon_config_last_reload_successful")
		if want := boolValue(len(wantFailed) == 0); ok != want {
			t.Errorf("%s: config_last_reload_successful = %v, want %v", step, ok, want)
		}
	}
	before := unitsByName(exp)

	check("unchanged", reload(), ReloadResult{Unchanged: []string{"syscalls", "timers"}})
	if now := unitsByName(exp); now["timers"] != before["timers"] || now["syscalls"] != before["syscalls"] {
		t.Fatal("an unchanged reload replaced a unit")
	}

	yamlPath := filepath.Join(dir, "timers.yaml")
	orig, _ := os.ReadFile(yamlPath)
	writeTestFile(t, yamlPath, string(orig)+"# changed\n")
	check("changed", reload(), ReloadResult{Changed: []string{"timers"}, Unchanged: []string{"syscalls"}})
	now := unitsByName(exp)
	if now["timers"] == before["timers"] || now["syscalls"] != before["syscalls"] {
		t.Fatal("want a new timers unit and the same syscalls unit")
	}
	running := now["timers"]

	writeTestFile(t, yamlPath, "metrics: [\n")
	check("bad YAML", reload(), ReloadResult{Unchanged: []string{"syscalls"}, Failed: []ConfigError{{Config: "timers"}}})
	if unitsByName(exp)["timers"] != running {
		t.Fatal("a failed reload replaced the running unit")
	}
	if v, _ := healthValue(t, exp, "ebpfmon_config_loaded", "config", "timers"); v != 1 {
		t.Errorf("config_loaded{timers} = %v after a failed reload, want 1 (the old version runs)", v)
	}
	if v, ok := healthValue(t, exp, "ebpfmon_config_last_load_successful", "config", "timers"); v != 0 || !ok {
		t.Errorf("config_last_load_successful{timers} = %v (%v), want 0", v, ok)
	}
	if v, _ := healthValue(t, exp, "ebpfmon_config_reloads_total", "result", "failure"); v != 1 {
		t.Errorf("reloads_total{failure} = %v, want 1", v)
	}

	writeTestFile(t, yamlPath, string(orig)+"# changed\n")
	objPath := filepath.Join(dir, "timers.bpf.o")
	obj, _ := os.ReadFile(objPath)
	if err := os.Remove(objPath); err != nil {
		t.Fatal(err)
	}
	check("object gone", reload(), ReloadResult{Unchanged: []string{"syscalls"}, Failed: []ConfigError{{Config: "timers"}}})
	writeTestFile(t, objPath, string(obj))
	check("restored", reload(), ReloadResult{Unchanged: []string{"syscalls", "timers"}})
	if unitsByName(exp)["timers"] != running {
		t.Fatal("restoring the running version's files replaced its unit")
	}
	if v, _ := healthValue(t, exp, "ebpfmon_config_last_load_successful", "config", "timers"); v != 1 {
		t.Errorf("config_last_load_successful{timers} = %v once restored, want 1", v)
	}

	copyFile(t, "../examples/softirqs.yaml", filepath.Join(dir, "softirqs.yaml"))
	copyFile(t, "../examples/softirqs.bpf.o", filepath.Join(dir, "softirqs.bpf.o"))
	if err := os.Remove(filepath.Join(dir, "syscalls.yaml")); err != nil {
		t.Fatal(err)
	}
	check("added and removed", reload(), ReloadResult{Added: []string{"softirqs"}, Removed: []string{"syscalls"}, Unchanged: []string{"timers"}})
	if names := slices.Sorted(func(yield func(string) bool) {
		for n := range unitsByName(exp) {
			yield(n)
		}
	}); !slices.Equal(names, []string{"softirqs", "timers"}) {
		t.Errorf("loaded %q, want softirqs and timers", names)
	}
	if _, ok := healthValue(t, exp, "ebpfmon_config_loaded", "config", "syscalls"); ok {
		t.Error("a removed config is still reported")
	}
	if v, _ := healthValue(t, exp, "ebpfmon_config_reloads_total", "result", "success"); v != 4 {
		t.Errorf("reloads_total{success} = %v, want 4", v)
	}
	if v, _ := healthValue(t, exp, "ebpfmon_config_last_reload_success_timestamp_seconds"); v < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("config_last_reload_success_timestamp_seconds = %v, want about now", v)
	}
}

// TestReloadNameClash: a new config exporting a metric another config
// exports fails; the same config exporting its own names again does not.
func TestReloadNameClash(t *testing.T) {
	dir, exp := reloadDir(t, "timers")
	copyFile(t, "../examples/timers.bpf.o", filepath.Join(dir, "timers2.bpf.o"))
	copyFile(t, "../examples/timers.yaml", filepath.Join(dir, "timers2.yaml"))
	res := exp.Reload(context.Background(), []Source{{Dir: dir}}, ReloadOptions{})
	if len(res.Failed) != 1 || res.Failed[0].Config != "timers2" || !strings.Contains(res.Failed[0].Err.Error(), "already exports") {
		t.Fatalf("want timers2 to fail with a name clash, got %+v", res)
	}
	writeTestFile(t, filepath.Join(dir, "timers.yaml"), readTestFile(t, "../examples/timers.yaml")+"# changed\n")
	if err := os.Remove(filepath.Join(dir, "timers2.yaml")); err != nil {
		t.Fatal(err)
	}
	if res := exp.Reload(context.Background(), []Source{{Dir: dir}}, ReloadOptions{}); !res.OK() || !slices.Equal(res.Changed, []string{"timers"}) {
		t.Fatalf("reloading timers with its own names: %+v", res)
	}
}

// TestScrapesDuringReloads gathers in a loop while timers is reloaded
// again and again: every gather must succeed and read a unit that is
// open (the old or the new one, never one being closed: that logs
// "scrape failed").
func TestScrapesDuringReloads(t *testing.T) {
	var log lockedBuffer
	dir, exp := reloadDirLog(t, &log, "timers", "syscalls")
	g := exp.Gatherer(prometheus.NewRegistry())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	reloads := 0
	go func() {
		defer wg.Done()
		defer cancel()
		orig := readTestFile(t, filepath.Join(dir, "timers.yaml"))
		for i := range 10 {
			writeTestFile(t, filepath.Join(dir, "timers.yaml"), orig+strings.Repeat("#\n", i+1))
			if res := exp.Reload(ctx, []Source{{Dir: dir}}, ReloadOptions{}); !res.OK() || len(res.Changed) != 1 {
				t.Errorf("reload %d: %+v", i, res)
				return
			}
			reloads++
		}
	}()
	scrapes := 0
	for ctx.Err() == nil {
		fams, err := g.Gather()
		if err != nil {
			t.Fatalf("gather during reloads: %v", err)
		}
		if !slices.ContainsFunc(fams, func(f *dto.MetricFamily) bool { return f.GetName() == "ebpfmon_syscalls_total" }) {
			t.Fatal("a gather during reloads lacks the untouched config's metric")
		}
		scrapes++
	}
	wg.Wait()
	if strings.Contains(log.String(), "scrape failed") {
		t.Errorf("a gather read a closed unit:\n%s", log.String())
	}
	t.Logf("%d gathers during %d reloads", scrapes, reloads)
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readTestFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestReloadMetricsSwapConfigs: two configs trading their metrics in one
// reload (each taking the other's files) both reload, in that one reload;
// checked one by one against the versions running, each would clash with
// the other's old version, for ever. When one of the two fails, the other
// fails too, as its metric is still the failed one's old version's.
func TestReloadMetricsSwapConfigs(t *testing.T) {
	dir, exp := reloadDir(t, "exec", "timers")
	swapTo := func(a, b, failA string) {
		for _, ext := range []string{".yaml", ".bpf.o"} {
			copyFile(t, "../examples/"+a+ext, filepath.Join(dir, "timers"+ext))
			copyFile(t, "../examples/"+b+ext, filepath.Join(dir, "exec"+ext))
		}
		if failA != "" {
			writeTestFile(t, filepath.Join(dir, "timers.yaml"), failA)
		}
	}
	swapTo("exec", "timers", "metrics: {counters: [{name: execs_total, unknown_field: 1}]}\n")
	res := exp.Reload(context.Background(), []Source{{Dir: dir}}, ReloadOptions{})
	if len(res.Failed) != 2 || len(res.Changed) != 0 || !strings.Contains(res.Failed[0].Err.Error(), "already exports") {
		t.Fatalf("one side broken: want both to fail, exec with a name clash, got %+v", res)
	}
	if units := unitsByName(exp); len(units) != 2 || len(units["exec"].Config().Metrics.Counters) != 2 {
		t.Fatalf("one side broken: the old versions must keep running, got %v", units)
	}
	swapTo("exec", "timers", "")
	res = exp.Reload(context.Background(), []Source{{Dir: dir}}, ReloadOptions{})
	if !res.OK() || !slices.Equal(res.Changed, []string{"exec", "timers"}) {
		t.Fatalf("swap: want both configs changed in one reload, got %+v", res)
	}
	units := unitsByName(exp)
	if c := units["timers"].Config().Metrics.Counters; len(c) != 2 || c[0].Name != "execs_total" {
		t.Errorf("after the swap, config timers runs %+v, want the exec metrics", c)
	}
}

// TestReloadNewConfigsClash: of two configs added in one reload with the
// same metrics, the first in order loads and the later one fails; then,
// once the first is broken (it no longer parses), the later one still
// fails: the first's running version keeps the names.
func TestReloadNewConfigsClash(t *testing.T) {
	dir, exp := reloadDir(t, "exec")
	for _, n := range []string{"timers", "timers2"} {
		copyFile(t, "../examples/timers.bpf.o", filepath.Join(dir, n+".bpf.o"))
		copyFile(t, "../examples/timers.yaml", filepath.Join(dir, n+".yaml"))
	}
	res := exp.Reload(context.Background(), []Source{{Dir: dir}}, ReloadOptions{})
	if !slices.Equal(res.Added, []string{"timers"}) || len(res.Failed) != 1 || res.Failed[0].Config != "timers2" || !strings.Contains(res.Failed[0].Err.Error(), "which config timers already exports") {
		t.Fatalf("want timers added and timers2 failing with a name clash, got %+v", res)
	}
	writeTestFile(t, filepath.Join(dir, "timers.yaml"), "metrics: [\n")
	res = exp.Reload(context.Background(), []Source{{Dir: dir}}, ReloadOptions{})
	if len(res.Failed) != 2 || !strings.Contains(res.Failed[1].Err.Error(), "which config timers already exports") {
		t.Fatalf("want timers failing to parse and timers2 still clashing with its running version, got %+v", res)
	}
}

// TestReloadCanceled: a reload whose context has ended changes nothing:
// the running version of a changed config keeps running.
func TestReloadCanceled(t *testing.T) {
	dir, exp := reloadDir(t, "timers")
	before := unitsByName(exp)["timers"]
	writeTestFile(t, filepath.Join(dir, "timers.yaml"), readTestFile(t, "../examples/timers.yaml")+"# changed\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res := exp.Reload(ctx, []Source{{Dir: dir}}, ReloadOptions{}); !errors.Is(res.Err, context.Canceled) || len(res.Changed) != 0 {
		t.Fatalf("canceled reload: %+v, want context.Canceled and nothing changed", res)
	}
	if unitsByName(exp)["timers"] != before {
		t.Error("a canceled reload replaced timers")
	}
	if res := exp.Reload(context.Background(), []Source{{Dir: dir}}, ReloadOptions{}); !res.OK() || !slices.Equal(res.Changed, []string{"timers"}) {
		t.Fatalf("reload after the canceled one: %+v", res)
	}
}

// TestReloadSources reloads from two directories: one whose configs a
// names file selects, one (like a mounted ConfigMap) whose every config
// runs. The list of configs fails whole: a name in both directories, a
// names file that cannot be read or no config at all change nothing.
func TestReloadSources(t *testing.T) {
	testenv.Privileged(t)
	bundled, extra := t.TempDir(), t.TempDir()
	for _, n := range []string{"timers", "syscalls", "exec"} {
		for _, ext := range []string{".yaml", ".bpf.o"} {
			copyFile(t, filepath.Join("../examples", n+ext), filepath.Join(bundled, n+ext))
		}
	}
	namesFile := filepath.Join(extra, "examples.names")
	writeNames := func(text string) {
		t.Helper()
		if err := os.WriteFile(namesFile, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exp := New(lifecycle.Options{Namespace: "ebpfmon", Env: decoder.NewEnv(), Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(exp.Close)
	sources := []Source{{Dir: bundled, NamesFile: namesFile}, {Dir: extra}}
	reload := func() ReloadResult {
		t.Helper()
		return exp.Reload(context.Background(), sources, ReloadOptions{})
	}
	loaded := func() []string { return slices.Sorted(maps.Keys(unitsByName(exp))) }

	writeNames("timers # the only one\n")
	if res := reload(); !res.OK() || !slices.Equal(res.Added, []string{"timers"}) {
		t.Fatalf("names file with timers: %+v", res)
	}
	timers := unitsByName(exp)["timers"]
	writeNames("timers, syscalls\n")
	if res := reload(); !res.OK() || !slices.Equal(res.Added, []string{"syscalls"}) || !slices.Equal(res.Unchanged, []string{"timers"}) {
		t.Fatalf("names file with syscalls added: %+v", res)
	}
	for _, ext := range []string{".yaml", ".bpf.o"} {
		copyFile(t, filepath.Join("../examples", "exec"+ext), filepath.Join(extra, "exec"+ext))
	}
	if res := reload(); !res.OK() || !slices.Equal(res.Added, []string{"exec"}) {
		t.Fatalf("exec added to the extra dir: %+v", res)
	}
	if unitsByName(exp)["timers"] != timers {
		t.Error("timers was reopened, though its files did not change")
	}

	// Failures of the list: nothing changes.
	for _, ext := range []string{".yaml", ".bpf.o"} {
		copyFile(t, filepath.Join("../examples", "timers"+ext), filepath.Join(extra, "timers"+ext))
	}
	res := reload()
	if res.Err == nil || !strings.Contains(res.Err.Error(), `config "timers" is in both `+bundled+" (named in "+namesFile+") and "+extra) {
		t.Errorf("timers in both dirs: err = %v", res.Err)
	}
	if v, _ := healthValue(t, exp, "ebpfmon_config_last_reload_successful"); v != 0 {
		t.Errorf("last_reload_successful = %v after a failed list, want 0", v)
	}
	for _, ext := range []string{".yaml", ".bpf.o"} {
		if err := os.Remove(filepath.Join(extra, "timers"+ext)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(namesFile); err != nil {
		t.Fatal(err)
	}
	if res := reload(); res.Err == nil || !strings.Contains(res.Err.Error(), "names file: ") {
		t.Errorf("names file gone: err = %v", res.Err)
	}
	if got := loaded(); !slices.Equal(got, []string{"exec", "syscalls", "timers"}) || unitsByName(exp)["timers"] != timers {
		t.Errorf("after failed lists: loaded %q, want the three configs as they were", got)
	}

	// An empty names file: none from the bundled dir, the extra dir's run.
	writeNames("")
	if res := reload(); !res.OK() || !slices.Equal(res.Removed, []string{"syscalls", "timers"}) || !slices.Equal(res.Unchanged, []string{"exec"}) {
		t.Errorf("empty names file: %+v", res)
	}
	for _, ext := range []string{".yaml", ".bpf.o"} {
		if err := os.Remove(filepath.Join(extra, "exec"+ext)); err != nil {
			t.Fatal(err)
		}
	}
	if res := reload(); res.Err == nil || !strings.Contains(res.Err.Error(), "no configs to load") || !slices.Equal(loaded(), []string{"exec"}) {
		t.Errorf("no config left: err = %v, loaded %q (want exec still running)", res.Err, loaded())
	}
}
