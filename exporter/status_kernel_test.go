package exporter

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
	"github.com/ebpfmon/ebpfmon/lifecycle"
)

// The test objects are e2e's: calls.yaml describes their map.
const (
	callsYAMLPath = "../e2e/testdata/calls.yaml"
	testObjDir    = "../e2e/testdata"
)

// TestStages opens one config per way a config fails (and two that do
// not) from real files into the real kernel, and checks the stage each
// failure is put down to, the file it blames, the state and error
// metrics, and /status's data.
func TestStages(t *testing.T) {
	testenv.Privileged(t)
	calls, err := os.ReadFile(callsYAMLPath)
	if err != nil {
		t.Fatal(err)
	}
	good := string(calls)
	for _, tc := range []struct {
		name     string
		yaml     string // "" for no NAME.yaml
		obj      string // e2e test object to compile, "" for none
		raw      string // bytes of NAME.bpf.o instead of obj
		strict   bool
		state    State
		stage    config.Stage // "" when the load succeeds
		file     string       // the file blamed: "yaml" or "obj"
		verifier bool         // a verifier log is shown
	}{
		{name: "good", yaml: good, obj: "good", state: StateLoaded},
		{name: "hook missing", yaml: good, obj: "nohook", state: StatePartial},
		{name: "yaml missing", obj: "good", state: StateFailed, stage: config.StageParse, file: "yaml"},
		{name: "yaml syntax", yaml: "metrics: [\n", obj: "good", state: StateFailed, stage: config.StageParse, file: "yaml"},
		{name: "unknown field", yaml: strings.Replace(good, "help:", "hepl: x\n      help:", 1), obj: "good", state: StateFailed, stage: config.StageParse, file: "yaml"},
		{name: "help missing", yaml: strings.Replace(good, "help: Calls counted by the test object.", "", 1), obj: "good", state: StateFailed, stage: config.StageValidate, file: "yaml"},
		{name: "unknown decoder", yaml: strings.Replace(good, "name: uint", "name: unit", 1), obj: "good", state: StateFailed, stage: config.StageValidate, file: "yaml"},
		{name: "key size", yaml: strings.Replace(good, "size: 4", "size: 8", 1), obj: "good", state: StateFailed, stage: config.StageValidate, file: "yaml"},
		{name: "unknown constant", yaml: good + "constants:\n  nosuch: 1\n", obj: "good", state: StateFailed, stage: config.StageValidate, file: "yaml"},
		{name: "object missing", yaml: good, state: StateFailed, stage: config.StageLoad, file: "obj"},
		{name: "object corrupt", yaml: good, raw: "\x7fELF not an object", state: StateFailed, stage: config.StageLoad, file: "obj"},
		{name: "verifier", yaml: good, obj: "verifier", state: StateFailed, stage: config.StageVerifier, file: "obj", verifier: true},
		{name: "strict attach", yaml: good, obj: "nohook", strict: true, state: StateFailed, stage: config.StageAttach, file: "obj"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			yamlPath, objPath := filepath.Join(dir, "x.yaml"), filepath.Join(dir, "x.bpf.o")
			if tc.yaml != "" {
				writeTestFile(t, yamlPath, tc.yaml)
			}
			if tc.obj != "" {
				testenv.CompileBPF(t, filepath.Join(testObjDir, tc.obj+".bpf.c"), objPath)
			}
			if tc.raw != "" {
				writeTestFile(t, objPath, tc.raw)
			}
			exp := New(lifecycle.Options{Namespace: "ebpfmon", Env: decoder.NewEnv()})
			t.Cleanup(exp.Close)
			res := exp.Reload(context.Background(), []Source{{Dir: dir, Names: []string{"x"}}}, ReloadOptions{Initial: true, Strict: tc.strict})
			if (tc.stage == "") != res.OK() {
				t.Fatalf("reload: ok %v, failed %v, want a failure: %v", res.OK(), res.Failed, tc.stage != "")
			}
			checkState(t, exp, "x", tc.state, tc.stage)
			st := statusOf(t, exp, "x")
			if tc.stage == "" {
				if st.LastError != nil {
					t.Errorf("status: last error %+v, want none", st.LastError)
				}
				return
			}
			le := st.LastError
			if le == nil {
				t.Fatalf("status: no last error, want stage %s", tc.stage)
			}
			want := map[string]string{"yaml": yamlPath, "obj": objPath}[tc.file]
			if le.Stage != tc.stage || le.File != want || le.Message != res.Failed[0].Err.Error() {
				t.Errorf("status: stage %s, file %q, message %q; want %s, %q and the reload's error %q", le.Stage, le.File, le.Message, tc.stage, want, res.Failed[0].Err)
			}
			if tc.verifier != (len(le.VerifierLog) > 0) || len(le.VerifierLog) > 20 {
				t.Errorf("status: verifier log of %d lines, want one (up to 20): %v", len(le.VerifierLog), tc.verifier)
			}
		})
	}
}

// TestStagesOldVersionRuns breaks a running config: its old version runs
// (state loaded), and config_error_info says the new one failed; fixing it
// takes the error away.
func TestStagesOldVersionRuns(t *testing.T) {
	testenv.Privileged(t)
	dir := t.TempDir()
	good, err := os.ReadFile(callsYAMLPath)
	if err != nil {
		t.Fatal(err)
	}
	yamlPath := filepath.Join(dir, "x.yaml")
	writeTestFile(t, yamlPath, string(good))
	testenv.CompileBPF(t, filepath.Join(testObjDir, "good.bpf.c"), filepath.Join(dir, "x.bpf.o"))
	exp := New(lifecycle.Options{Namespace: "ebpfmon", Env: decoder.NewEnv()})
	t.Cleanup(exp.Close)
	reload := func() ReloadResult {
		return exp.Reload(context.Background(), []Source{{Dir: dir}}, ReloadOptions{})
	}
	if res := reload(); !res.OK() {
		t.Fatal(res.Failed)
	}
	checkState(t, exp, "x", StateLoaded, "")
	writeTestFile(t, yamlPath, "metrics: [\n")
	if res := reload(); res.OK() {
		t.Fatal("broken YAML reloaded")
	}
	checkState(t, exp, "x", StateLoaded, config.StageParse)
	if st := statusOf(t, exp, "x"); st.LoadedAt == nil || st.LastError == nil || len(st.Programs) != 1 || !st.Programs[0].Attached || st.Programs[0].Section != "raw_tp/sched_switch" {
		t.Errorf("status %+v: want the old version (loaded, its program attached) and the error", st)
	}
	writeTestFile(t, yamlPath, string(good)+"# fixed\n")
	if res := reload(); !res.OK() {
		t.Fatal(res.Failed)
	}
	checkState(t, exp, "x", StateLoaded, "")
}

// checkState checks config_state has the three states of config, 1 on
// want, and config_error_info is there with stage (or absent: "").
func checkState(t *testing.T, exp *Exporter, name string, want State, stage config.Stage) {
	t.Helper()
	for _, s := range []State{StateLoaded, StatePartial, StateFailed} {
		v, ok := healthValue(t, exp, "ebpfmon_config_state", "config", name, "state", string(s))
		if !ok || v != boolValue(s == want) {
			t.Errorf("config_state{state=%s} = %v (present %v), want %v", s, v, ok, boolValue(s == want))
		}
	}
	v, ok := healthValue(t, exp, "ebpfmon_config_error_info", "config", name)
	switch {
	case stage == "" && ok:
		t.Errorf("config_error_info present, want none")
	case stage != "" && (v != 1 || !ok):
		t.Errorf("config_error_info = %v (present %v), want 1", v, ok)
	case stage != "":
		if _, ok := healthValue(t, exp, "ebpfmon_config_error_info", "config", name, "stage", string(stage)); !ok {
			t.Errorf("config_error_info has no stage=%s", stage)
		}
	}
}

// statusOf returns name's entry of exp.Status().
func statusOf(t *testing.T, exp *Exporter, name string) ConfigStatus {
	t.Helper()
	for _, s := range exp.Status() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("%s not in Status()", name)
	return ConfigStatus{}
}
