package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// configStatus is the part of /status?format=json the test reads.
type configStatus struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	LoadedAt string `json:"loaded_at"`
	Programs []struct {
		Name     string `json:"name"`
		Section  string `json:"section"`
		Attached bool   `json:"attached"`
	} `json:"programs"`
	LastError *struct {
		Stage       string   `json:"stage"`
		File        string   `json:"file"`
		Message     string   `json:"message"`
		VerifierLog []string `json:"verifier_log"`
	} `json:"last_error"`
}

// status reads /status?format=json, by config name.
func (in *instance) status(t *testing.T) map[string]configStatus {
	t.Helper()
	var st []configStatus
	if err := json.Unmarshal([]byte(in.get(t, "/status?format=json")), &st); err != nil {
		t.Fatal(err)
	}
	byName := map[string]configStatus{}
	for _, s := range st {
		byName[s.Name] = s
	}
	return byName
}

// TestStatusBrokenBesideGood runs the real binary on two good configs
// beside one the verifier refuses and one with a typo: the good ones
// export, the state and error metrics say which failed at what stage, and
// /status (HTML and JSON) shows each with its stage, file and fix.
func TestStatusBrokenBesideGood(t *testing.T) {
	testenv.Privileged(t)
	dir := t.TempDir()
	calls := readFile(t, callsYAML)
	writeFile(t, filepath.Join(dir, "good.yaml"), calls)
	compileBPF(t, "good", dir, "good")
	for _, ext := range []string{".yaml", ".bpf.o"} {
		writeFile(t, filepath.Join(dir, "timers"+ext), readFile(t, filepath.Join(examplesDir, "timers"+ext)))
	}
	writeFile(t, filepath.Join(dir, "broken.yaml"), calls)
	compileBPF(t, "verifier", dir, "broken")
	writeFile(t, filepath.Join(dir, "typo.yaml"), strings.Replace(calls, "help:", "hepl: x\n      help:", 1))
	compileBPF(t, "good", dir, "typo")

	in := start(t, "--config.dir="+dir)
	ms := in.eventually(t, "good config counting sched_switch", nil, func(ms metrics) bool {
		return ms.sum("ebpfmon_calls", map[string]string{"key": "7"}) > 0
	})
	for _, tc := range []struct{ config, state, stage string }{
		{"good", "loaded", ""},
		{"timers", "loaded", ""},
		{"broken", "failed", "verifier"},
		{"typo", "failed", "parse"},
	} {
		for _, s := range []string{"loaded", "partial", "failed"} {
			want := 0.0
			if s == tc.state {
				want = 1
			}
			if got := ms.series("ebpfmon_config_state", map[string]string{"config": tc.config, "state": s}); len(got) != 1 || got[0].GetGauge().GetValue() != want {
				t.Errorf("%s: config_state{state=%s} %v, want one series = %v", tc.config, s, got, want)
			}
		}
		errInfo := ms.series("ebpfmon_config_error_info", map[string]string{"config": tc.config})
		switch {
		case tc.stage == "" && len(errInfo) != 0:
			t.Errorf("%s: config_error_info %v, want none", tc.config, errInfo)
		case tc.stage != "" && len(ms.series("ebpfmon_config_error_info", map[string]string{"config": tc.config, "stage": tc.stage})) != 1:
			t.Errorf("%s: config_error_info %v, want stage=%s", tc.config, errInfo, tc.stage)
		}
	}
	if ms.sum("ebpfmon_scrape_success", map[string]string{"config": "timers"}) != 1 {
		t.Error("timers: scrape_success is not 1")
	}

	page := in.get(t, "/status")
	for _, w := range []string{
		`<h2 id="config-broken">broken: <span class="failed">failed</span></h2>`,
		"Last load failed at the verifier stage", filepath.Join(dir, "broken.bpf.o"), "R0 invalid mem access &#39;map_value_or_null&#39;",
		"Last load failed at the parse stage", filepath.Join(dir, "typo.yaml"), "(did you mean &#34;help&#34;?)",
		`<h2 id="config-good">good: <span class="loaded">loaded</span></h2>`, "<td>count_switch</td><td><code>raw_tp/sched_switch</code></td><td>yes</td>",
	} {
		if !strings.Contains(page, w) {
			t.Errorf("/status lacks %q:\n%s", w, page)
		}
	}
	if !strings.Contains(in.get(t, "/"), `href="/status"`) {
		t.Error("the landing page does not link to /status")
	}

	var st []configStatus
	if err := json.Unmarshal([]byte(in.get(t, "/status?format=json")), &st); err != nil {
		t.Fatal(err)
	}
	byName := map[string]configStatus{}
	for _, s := range st {
		byName[s.Name] = s
	}
	if b := byName["broken"]; b.LastError == nil || b.LastError.Stage != "verifier" || len(b.LastError.VerifierLog) == 0 || len(b.LastError.VerifierLog) > 20 ||
		!strings.Contains(strings.Join(b.LastError.VerifierLog, "\n"), "invalid mem access") || b.LoadedAt != "" {
		t.Errorf("broken: %+v, want not running, stage verifier, a verifier log of 1 to 20 lines", b)
	}
	if g := byName["good"]; g.State != "loaded" || g.LoadedAt == "" || g.LastError != nil || len(g.Programs) != 1 || !g.Programs[0].Attached {
		t.Errorf("good: %+v, want loaded, its program attached, no error", g)
	}
}
