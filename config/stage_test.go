package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadStages loads real files and checks Load puts each failure down
// to its stage and file, with the cause's message unchanged.
func TestLoadStages(t *testing.T) {
	good := "metrics:\n  counters:\n    - name: calls\n      help: Calls.\n      labels:\n        - name: key\n          size: 4\n          decoders:\n            - name: uint\n"
	for _, tc := range []struct {
		name, file, yaml string // yaml "": no file
		stage            Stage  // "": loads
	}{
		{name: "good", file: "x", yaml: good},
		{name: "missing", file: "x", stage: StageParse},
		{name: "bad name", file: "a\x01b", yaml: good, stage: StageParse},
		{name: "syntax", file: "x", yaml: "metrics: [\n", stage: StageParse},
		{name: "empty", file: "x", yaml: "# nothing\n", stage: StageParse},
		{name: "unknown field", file: "x", yaml: strings.Replace(good, "help:", "hepl: 1\n      help:", 1), stage: StageParse},
		{name: "wrong type", file: "x", yaml: strings.Replace(good, "size: 4", "size: four", 1), stage: StageParse},
		{name: "help missing", file: "x", yaml: strings.Replace(good, "help: Calls.", "", 1), stage: StageValidate},
		{name: "unknown decoder", file: "x", yaml: strings.Replace(good, "name: uint", "name: unit", 1), stage: StageValidate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tc.file+".yaml")
			if tc.yaml != "" && !strings.ContainsRune(tc.file, '\x01') {
				if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(dir, tc.file)
			if tc.stage == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			se, ok := StageOf(err)
			if !ok {
				t.Fatalf("%v: no stage, want %s", err, tc.stage)
			}
			if se.Stage != tc.stage || se.File != path {
				t.Errorf("stage %s, file %q; want %s, %q (%v)", se.Stage, se.File, tc.stage, path, err)
			}
			if err.Error() != errors.Unwrap(err).Error() {
				t.Errorf("message %q, want the cause's %q", err, errors.Unwrap(err))
			}
		})
	}
}

// TestStaged checks a stage is kept once set, through wrapping and joins,
// and nil stays nil.
func TestStaged(t *testing.T) {
	cause := errors.New("cause")
	first := Staged(StageVerifier, "x.bpf.o", cause)
	for _, tc := range []struct {
		name string
		err  error
		want Stage
	}{
		{"set", first, StageVerifier},
		{"kept", Staged(StageLoad, "x.bpf.o", first), StageVerifier},
		{"kept through a join", Staged(StageAttach, "", errors.Join(errors.New("other"), first)), StageVerifier},
		{"set over a plain join", Staged(StageAttach, "", errors.Join(cause, cause)), StageAttach},
	} {
		t.Run(tc.name, func(t *testing.T) {
			se, ok := StageOf(tc.err)
			if !ok || se.Stage != tc.want || !errors.Is(tc.err, cause) {
				t.Errorf("StageOf = %v, %v; want %s, wrapping the cause", se, ok, tc.want)
			}
		})
	}
	if Staged(StageParse, "x", nil) != nil {
		t.Error("Staged(nil) is not nil")
	}
	if _, ok := StageOf(cause); ok {
		t.Error("an unmarked error has a stage")
	}
}
