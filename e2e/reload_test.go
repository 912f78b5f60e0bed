package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// reloadDir writes the named configs into dir: bundled examples by name,
// "good" from testdata (calls.yaml + good.bpf.c, counting sched_switch).
func reloadDir(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		if n == "good" {
			writeFile(t, filepath.Join(dir, "good.yaml"), readFile(t, callsYAML))
			compileBPF(t, "good", dir, "good")
			continue
		}
		for _, ext := range []string{".yaml", ".bpf.o"} {
			writeFile(t, filepath.Join(dir, n+ext), readFile(t, filepath.Join(examplesDir, n+ext)))
		}
	}
}

// programIDs maps each program of config to its id, from
// ebpfmon_ebpf_program_info.
func programIDs(ms metrics, config string) map[string]string {
	out := map[string]string{}
	for _, m := range ms.series("ebpfmon_ebpf_program_info", map[string]string{"config": config}) {
		out[labelValue(m, "program")] = labelValue(m, "id")
	}
	return out
}

// sameIDs reports whether a and b hold the same programs with the same ids.
func sameIDs(a, b map[string]string) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// reloadsSeen waits until config_reloads_total reaches n (success plus
// failure) and returns that scrape.
func (in *instance) reloadsSeen(t *testing.T, n float64) metrics {
	t.Helper()
	return in.eventually(t, "reload done", nil, func(ms metrics) bool {
		return ms.sum("ebpfmon_config_reloads_total", nil) >= n
	})
}

// post sends POST path and returns the status and body.
func (in *instance) post(t *testing.T, path string) (int, string) {
	t.Helper()
	return in.request(t, http.MethodPost, path)
}

func (in *instance) request(t *testing.T, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, in.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// only keeps the families names of a scrape.
func only(ms metrics, names ...string) metrics {
	out := metrics{}
	for _, n := range names {
		if f, ok := ms[n]; ok {
			out[n] = f
		}
	}
	return out
}

var durationRE = regexp.MustCompile(`(?m)^duration: (\S+)$`)

// TestReloadSIGHUP changes, adds, removes and breaks configs, sends SIGHUP,
// and checks each: the unchanged configs keep their programs and their
// counters keep counting, the changed one gets new programs, the added one
// loads, the removed one is gone, the broken one is reported.
func TestReloadSIGHUP(t *testing.T) {
	testenv.Privileged(t)
	dir := t.TempDir()
	reloadDir(t, dir, "syscalls", "timers", "pagefaults", "good")
	in := start(t, "--config.dir="+dir, "--no-config.watch")
	before := in.eventually(t, "syscalls and good counting", nil, func(ms metrics) bool {
		return ms.sum("ebpfmon_syscalls_total", nil) > 0 && ms.sum("ebpfmon_calls", nil) > 0
	})
	if v := before.sum("ebpfmon_config_last_reload_successful", nil); v != 1 {
		t.Errorf("config_last_reload_successful = %v after a clean start, want 1", v)
	}
	writeFile(t, filepath.Join(dir, "timers.yaml"), readFile(t, filepath.Join(dir, "timers.yaml"))+"# changed\n")
	reloadDir(t, dir, "softirqs")
	for _, f := range []string{"pagefaults.yaml", "pagefaults.bpf.o"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "broken.yaml"), "metrics: [\n")
	if err := in.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	after := in.reloadsSeen(t, 1)
	in.waitLog(t, "reload failed for some configs")

	if !sameIDs(programIDs(before, "syscalls"), programIDs(after, "syscalls")) {
		t.Errorf("unchanged syscalls: programs %v before, %v after, want the same", programIDs(before, "syscalls"), programIDs(after, "syscalls"))
	}
	if !sameIDs(programIDs(before, "good"), programIDs(after, "good")) {
		t.Errorf("unchanged good: programs %v before, %v after, want the same", programIDs(before, "good"), programIDs(after, "good"))
	}
	checkNeverDown(t, only(before, "ebpfmon_syscalls_total", "ebpfmon_calls"), after)
	if a, b := programIDs(before, "timers"), programIDs(after, "timers"); len(b) == 0 || sameIDs(a, b) || len(a) != len(b) {
		t.Errorf("changed timers: programs %v before, %v after, want new ids", a, b)
	}
	for _, tc := range []struct {
		metric, config string
		want           float64
		present        bool
	}{
		{"ebpfmon_config_loaded", "softirqs", 1, true},
		{"ebpfmon_config_loaded", "timers", 1, true},
		{"ebpfmon_config_loaded", "broken", 0, true},
		{"ebpfmon_config_last_load_successful", "broken", 0, true},
		{"ebpfmon_config_last_load_successful", "timers", 1, true},
		{"ebpfmon_config_loaded", "pagefaults", 0, false},
	} {
		s := after.series(tc.metric, map[string]string{"config": tc.config})
		if !tc.present {
			if len(s) != 0 {
				t.Errorf("%s{config=%q} still exported after its removal", tc.metric, tc.config)
			}
			continue
		}
		if len(s) != 1 || after.sum(tc.metric, map[string]string{"config": tc.config}) != tc.want {
			t.Errorf("%s{config=%q} = %v, want %v", tc.metric, tc.config, s, tc.want)
		}
	}
	if len(after.series("ebpfmon_ebpf_program_info", map[string]string{"config": "pagefaults"})) != 0 {
		t.Error("removed pagefaults still has programs")
	}
	if v := after.sum("ebpfmon_config_last_reload_successful", nil); v != 0 {
		t.Errorf("config_last_reload_successful = %v with a broken config, want 0", v)
	}
	if v := after.sum("ebpfmon_config_reloads_total", map[string]string{"result": "failure"}); v != 1 {
		t.Errorf("config_reloads_total{result=failure} = %v, want 1", v)
	}
	// The counters of the untouched configs go on counting.
	in.eventually(t, "syscalls and good still counting", nil, func(ms metrics) bool {
		return ms.sum("ebpfmon_syscalls_total", nil) > after.sum("ebpfmon_syscalls_total", nil) &&
			ms.sum("ebpfmon_calls", nil) > after.sum("ebpfmon_calls", nil)
	})
}

// TestReloadHTTP drives POST /-/reload: an object the verifier rejects
// leaves the running version serving (same programs, counting) and the
// reload fails (500, naming the config); restoring it succeeds as an
// unchanged reload. GET is refused with 405.
func TestReloadHTTP(t *testing.T) {
	testenv.Privileged(t)
	dir := t.TempDir()
	reloadDir(t, dir, "syscalls", "timers", "good")
	in := start(t, "--config.dir="+dir, "--no-config.watch", "--web.enable-lifecycle")
	before := in.eventually(t, "good counting", nil, func(ms metrics) bool { return ms.sum("ebpfmon_calls", nil) > 0 })

	if code, _ := in.request(t, http.MethodGet, "/-/reload"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d, want 405", code)
	}
	code, body := in.post(t, "/-/reload")
	if code != http.StatusOK || !strings.Contains(body, "unchanged: good syscalls timers") {
		t.Fatalf("unchanged reload: %d\n%s", code, body)
	}
	t.Logf("reload of 3 unchanged configs took %s", durationRE.FindStringSubmatch(body)[1])

	writeFile(t, filepath.Join(dir, "timers.yaml"), readFile(t, filepath.Join(dir, "timers.yaml"))+"# changed\n")
	code, body = in.post(t, "/-/reload")
	if code != http.StatusOK || !strings.Contains(body, "changed: timers\n") {
		t.Fatalf("reload of a changed config: %d\n%s", code, body)
	}
	t.Logf("reload of 1 changed config (timers) beside 2 unchanged took %s", durationRE.FindStringSubmatch(body)[1])

	good, err := os.ReadFile(filepath.Join(dir, "good.bpf.o"))
	if err != nil {
		t.Fatal(err)
	}
	compileBPF(t, "verifier", dir, "good")
	code, body = in.post(t, "/-/reload")
	if code != http.StatusInternalServerError || !strings.Contains(body, "failed: good\n") || !strings.Contains(body, "verifier log") {
		t.Fatalf("reload of an object the verifier rejects: %d, want 500 naming good and the verifier:\n%s", code, body)
	}
	after := in.eventually(t, "good still counting", nil, func(ms metrics) bool {
		return ms.sum("ebpfmon_calls", nil) > before.sum("ebpfmon_calls", nil)
	})
	if !sameIDs(programIDs(before, "good"), programIDs(after, "good")) {
		t.Errorf("good after a failed reload: programs %v, want the old ones %v", programIDs(after, "good"), programIDs(before, "good"))
	}
	if v := after.sum("ebpfmon_config_last_reload_successful", nil); v != 0 {
		t.Errorf("config_last_reload_successful = %v after a failed reload, want 0", v)
	}
	if v := after.sum("ebpfmon_config_loaded", map[string]string{"config": "good"}); v != 1 {
		t.Errorf("config_loaded{good} = %v, want 1: the old version runs", v)
	}
	if v := after.sum("ebpfmon_config_last_load_successful", map[string]string{"config": "good"}); v != 0 {
		t.Errorf("config_last_load_successful{good} = %v, want 0", v)
	}

	writeFile(t, filepath.Join(dir, "good.bpf.o"), string(good))
	code, body = in.post(t, "/-/reload")
	if code != http.StatusOK || !strings.Contains(body, "unchanged: good syscalls timers") {
		t.Fatalf("reload after restoring good: %d\n%s", code, body)
	}
	ms := in.scrape(t)
	if v := ms.sum("ebpfmon_config_last_reload_successful", nil); v != 1 {
		t.Errorf("config_last_reload_successful = %v after restoring, want 1", v)
	}
	if v := ms.sum("ebpfmon_config_reloads_total", nil); v != 4 {
		t.Errorf("config_reloads_total = %v, want 4", v)
	}
}

// TestReloadLifecycleOff: without --web.enable-lifecycle, POST /-/reload
// is refused with 403 and reloads nothing; /-/healthy and /-/ready answer.
func TestReloadLifecycleOff(t *testing.T) {
	in := start(t, "--config.dir="+examplesDir, "--config.names=timers", "--no-config.watch")
	if code, body := in.post(t, "/-/reload"); code != http.StatusForbidden {
		t.Errorf("POST /-/reload without --web.enable-lifecycle: %d %s, want 403", code, body)
	}
	for _, p := range []string{"/-/healthy", "/-/ready"} {
		in.get(t, p)
	}
	if v := in.scrape(t).sum("ebpfmon_config_reloads_total", nil); v != 0 {
		t.Errorf("config_reloads_total = %v, want 0", v)
	}
}

// configMapVersion writes a new version of dir laid out like a mounted
// ConfigMap: configs (see reloadDir) and files (name: content) in
// dir/version, a NAME -> ..data/NAME symlink for each, and ..data swapped
// to the new version atomically, as the kubelet does.
func configMapVersion(t *testing.T, dir, version string, files map[string]string, configs ...string) {
	t.Helper()
	sub := filepath.Join(dir, version)
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	reloadDir(t, sub, configs...)
	var names []string
	for _, c := range configs {
		names = append(names, c+".yaml", c+".bpf.o")
	}
	for name, content := range files {
		writeFile(t, filepath.Join(sub, name), content)
		names = append(names, name)
	}
	for _, name := range names {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(version, filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

// TestReloadExtraDirWatch runs the Helm chart's layout: bundled configs
// in --config.dir, selected by a names file in a ConfigMap that also holds
// a custom config (--config.extra-dir). A new ConfigMap version that
// selects one more bundled config and adds a custom one is reloaded by
// the watch; the running configs keep their programs.
func TestReloadExtraDirWatch(t *testing.T) {
	testenv.Privileged(t)
	bundled, cm := t.TempDir(), t.TempDir()
	reloadDir(t, bundled, "syscalls", "timers", "softirqs")
	configMapVersion(t, cm, "..2026_12_03_10_00_00.1", map[string]string{"examples.names": "syscalls\n"})
	in := start(t, "--config.dir="+bundled, "--config.names-file="+filepath.Join(cm, "examples.names"), "--config.extra-dir="+cm)
	before := in.eventually(t, "syscalls counting", nil, func(ms metrics) bool { return ms.sum("ebpfmon_syscalls_total", nil) > 0 })
	if ms := in.scrape(t); ms.sum("ebpfmon_config_loaded", nil) != 1 {
		t.Fatalf("want only syscalls loaded, got ebpfmon_config_loaded %v", ms["ebpfmon_config_loaded"])
	}

	configMapVersion(t, cm, "..2026_12_03_10_05_00.2", map[string]string{"examples.names": "syscalls\ntimers # added\n"}, "good")
	after := in.eventually(t, "the watch loading timers and good", nil, func(ms metrics) bool {
		return ms.sum("ebpfmon_config_loaded", map[string]string{"config": "timers"}) == 1 &&
			ms.sum("ebpfmon_config_loaded", map[string]string{"config": "good"}) == 1 &&
			ms.sum("ebpfmon_config_last_reload_successful", nil) == 1
	})
	if !sameIDs(programIDs(before, "syscalls"), programIDs(after, "syscalls")) {
		t.Errorf("unchanged syscalls: programs %v before, %v after, want the same", programIDs(before, "syscalls"), programIDs(after, "syscalls"))
	}
	checkNeverDown(t, only(before, "ebpfmon_syscalls_total"), after)
	if after.sum("ebpfmon_config_loaded", map[string]string{"config": "softirqs"}) != 0 {
		t.Error("softirqs loaded though the names file does not name it")
	}

	// A custom config named like a bundled one: the reload fails whole.
	configMapVersion(t, cm, "..2026_12_03_10_10_00.3", map[string]string{"examples.names": "syscalls\ntimers\n"}, "good", "timers")
	in.eventually(t, "the clash failing the reload", nil, func(ms metrics) bool {
		return ms.sum("ebpfmon_config_last_reload_successful", nil) == 0
	})
	if !strings.Contains(in.logText(), `config \"timers\" is in both`) {
		t.Errorf("no clash error in the log:\n%s", in.logText())
	}
}

// TestReloadConfigMapWatch lays --config.dir out like a mounted ConfigMap
// (NAME.yaml -> ..data/NAME.yaml, ..data -> ..TIMESTAMP) and swaps ..data
// atomically as the kubelet does: the watch reloads the changed config
// and loads the added one; the unchanged one keeps its programs.
func TestReloadConfigMapWatch(t *testing.T) {
	testenv.Privileged(t)
	dir := t.TempDir()
	version := func(name string, configs ...string) { configMapVersion(t, dir, name, nil, configs...) }
	version("..2026_12_03_10_00_00.1", "syscalls", "timers")
	in := start(t, "--config.dir="+dir)
	before := in.eventually(t, "syscalls counting", nil, func(ms metrics) bool { return ms.sum("ebpfmon_syscalls_total", nil) > 0 })

	// The new version: timers changed, softirqs added, syscalls as it was.
	version("..2026_12_03_10_05_00.2", "syscalls", "timers", "softirqs")
	writeFile(t, filepath.Join(dir, "..2026_12_03_10_05_00.2", "timers.yaml"), readFile(t, filepath.Join(examplesDir, "timers.yaml"))+"# changed\n")
	if err := os.RemoveAll(filepath.Join(dir, "..2026_12_03_10_00_00.1")); err != nil {
		t.Fatal(err)
	}
	after := in.eventually(t, "the watch reloading softirqs in", nil, func(ms metrics) bool {
		return ms.sum("ebpfmon_config_loaded", map[string]string{"config": "softirqs"}) == 1 &&
			!sameIDs(programIDs(before, "timers"), programIDs(ms, "timers")) &&
			ms.sum("ebpfmon_config_last_reload_successful", nil) == 1
	})
	if !sameIDs(programIDs(before, "syscalls"), programIDs(after, "syscalls")) {
		t.Errorf("unchanged syscalls: programs %v before, %v after, want the same", programIDs(before, "syscalls"), programIDs(after, "syscalls"))
	}
	checkNeverDown(t, only(before, "ebpfmon_syscalls_total"), after)
	if !strings.Contains(in.logText(), "trigger=watch") {
		t.Errorf("no reload by the watch in the log:\n%s", in.logText())
	}
}

// TestScrapesDuringReloads scrapes from a few clients while timers is
// changed and reloaded over and over: every scrape answers 200 with a
// whole exposition, holds every config, and each config's programs once.
func TestScrapesDuringReloads(t *testing.T) {
	testenv.Privileged(t)
	dir := t.TempDir()
	reloadDir(t, dir, "syscalls", "timers")
	in := start(t, "--config.dir="+dir, "--no-config.watch", "--web.enable-lifecycle")
	timersProgs := len(programsOf(t, "timers"))
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	scrapes, problems := 0, []string{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 500; n++ { // until the reloads end; bounded
				select {
				case <-done:
					return
				default:
				}
				if p := checkScrape(in, timersProgs); p != "" {
					mu.Lock()
					problems = append(problems, p)
					mu.Unlock()
					return
				}
				mu.Lock()
				scrapes++
				mu.Unlock()
			}
		}()
	}
	orig := readFile(t, filepath.Join(dir, "timers.yaml"))
	start := time.Now()
	reloads := 0
	for i := range 15 {
		writeFile(t, filepath.Join(dir, "timers.yaml"), orig+strings.Repeat("#\n", i+1))
		if code, body := in.post(t, "/-/reload"); code != http.StatusOK || !strings.Contains(body, "changed: timers\n") {
			t.Errorf("reload %d: %d\n%s", i, code, body)
			break
		}
		reloads++
	}
	elapsed := time.Since(start)
	close(done)
	wg.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("%d scrapes during %d reloads of timers (%s per reload)", scrapes, reloads, elapsed/time.Duration(max(reloads, 1)))
}

// checkScrape scrapes once and says what is wrong with it, or "".
func checkScrape(in *instance, timersProgs int) string {
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(in.url + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp.Status + ": " + string(body)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		return "parse: " + err.Error()
	}
	ms := metrics(fams)
	if ms.sum("ebpfmon_syscalls_total", nil) == 0 {
		return "a scrape lacks syscalls_total"
	}
	for _, c := range []string{"syscalls", "timers"} {
		if v := ms.sum("ebpfmon_config_loaded", map[string]string{"config": c}); v != 1 {
			return "config_loaded{" + c + "} is not 1"
		}
	}
	if s := ms.series("ebpfmon_ebpf_program_info", map[string]string{"config": "timers"}); len(s) != timersProgs {
		ids := make([]string, len(s))
		for i, m := range s {
			ids[i] = labelValue(m, "program") + "=" + labelValue(m, "id")
		}
		return "timers programs in one scrape: " + strings.Join(ids, ",")
	}
	return ""
}
