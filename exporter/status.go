package exporter

import (
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/lifecycle"
)

// State is where a config stands: the state label of
// ebpfmon_config_state.
type State string

// The states of a config.
const (
	StateLoaded  State = "loaded"  // a version runs with every program attached
	StatePartial State = "partial" // a version runs, some program is not attached
	StateFailed  State = "failed"  // no version runs
)

// failure is the last failed load of a config.
type failure struct {
	err error
	at  time.Time
}

// stage returns the stage f failed at and the file to fix. An error no
// stage marked is taken as a load error: every path of config.Load,
// lifecycle.Open and Reload marks its errors, so it does not happen.
func (f failure) stage() (config.Stage, string) {
	if se, ok := config.StageOf(f.err); ok {
		return se.Stage, se.File
	}
	return config.StageLoad, ""
}

// ConfigStatus is one config as /status shows it.
type ConfigStatus struct {
	Name  string `json:"name"`
	State State  `json:"state"`
	// LoadedAt is when the running version was loaded; nil when none runs.
	LoadedAt *time.Time      `json:"loaded_at,omitempty"`
	Programs []ProgramStatus `json:"programs"`
	// LastError is why the last load failed; nil when it succeeded. With
	// a running version, that older version keeps running.
	LastError *LoadError `json:"last_error,omitempty"`
}

// ProgramStatus is one program of a running config.
type ProgramStatus struct {
	Name     string `json:"name"`
	Section  string `json:"section"`
	Attached bool   `json:"attached"`
	Error    string `json:"error,omitempty"` // why it is not attached
}

// LoadError is a failed load of a config.
type LoadError struct {
	Stage config.Stage `json:"stage"`
	File  string       `json:"file,omitempty"` // the file to fix
	At    time.Time    `json:"at"`
	// Message is the whole error, which says what to fix.
	Message string `json:"message"`
	// VerifierLog is the end of the verifier's log, when it refused a program.
	VerifierLog []string `json:"verifier_log,omitempty"`
}

// Status returns every config, loaded or failed, sorted by name.
func (e *Exporter) Status() []ConfigStatus {
	e.mu.RLock()
	defer e.mu.RUnlock()
	byName := map[string]*ConfigStatus{}
	for _, en := range e.units {
		byName[en.u.Name()] = unitStatus(en)
	}
	for name, f := range e.failed {
		s := byName[name]
		if s == nil {
			s = &ConfigStatus{Name: name, State: StateFailed}
			byName[name] = s
		}
		s.LastError = loadError(f)
	}
	out := make([]ConfigStatus, 0, len(byName))
	for _, s := range byName {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b ConfigStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// unitStatus is the status of a running config.
func unitStatus(en *entry) *ConfigStatus {
	loaded := en.loaded
	s := &ConfigStatus{Name: en.u.Name(), State: StateLoaded, LoadedAt: &loaded}
	for _, p := range en.u.Health(false).Programs {
		ps := ProgramStatus{Name: p.Name, Section: p.Section, Attached: p.Err == nil}
		if p.Err != nil {
			ps.Error = p.Err.Error()
			s.State = StatePartial
		}
		s.Programs = append(s.Programs, ps)
	}
	return s
}

// loadError is f as /status shows it.
func loadError(f failure) *LoadError {
	stage, file := f.stage()
	return &LoadError{Stage: stage, File: file, At: f.at, Message: f.err.Error(), VerifierLog: lifecycle.VerifierLog(f.err)}
}

// unitState is the state of a running config, from its health.
func unitState(h lifecycle.Health) State {
	for _, p := range h.Programs {
		if p.Err != nil {
			return StatePartial
		}
	}
	return StateLoaded
}

// collectState sends config_state (every state, 1 on the current one)
// and, while the last load failed, config_error_info with its stage.
func (e *Exporter) collectState(ch chan<- prometheus.Metric, name string, state State) {
	for _, s := range []State{StateLoaded, StatePartial, StateFailed} {
		ch <- e.d.configState.metric(boolValue(s == state), name, string(s))
	}
	if f, ok := e.failed[name]; ok {
		stage, _ := f.stage()
		ch <- e.d.configErrorInfo.metric(1, name, string(stage))
	}
}
