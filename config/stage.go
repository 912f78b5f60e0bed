package config

import "errors"

// Stage is where opening a config failed, in the order a config is
// opened: read and parse NAME.yaml, validate it (alone and against its
// object), load the object into the kernel, have the verifier accept its
// programs, attach them.
type Stage string

// The stages a config fails at (the stage label of
// ebpfmon_config_error_info).
const (
	StageParse    Stage = "parse"    // NAME.yaml unreadable, not YAML, an unknown field
	StageValidate Stage = "validate" // a config rule, or the config against its object: labels, sizes, map names, constants
	StageLoad     Stage = "load"     // NAME.bpf.o missing or corrupt, CO-RE relocation, map creation
	StageVerifier Stage = "verifier" // the kernel's verifier refused a program
	StageAttach   Stage = "attach"   // with --config.strict, a program not attached
)

// StageError is an error of one stage of opening a config. Its message is
// the cause's, unchanged; errors.As finds it through wrapping and joins.
type StageError struct {
	Stage Stage
	// File is the file to fix: NAME.yaml or NAME.bpf.o; empty when no
	// one file is to blame.
	File string
	Err  error
}

// Error is the cause's message.
func (e *StageError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *StageError) Unwrap() error { return e.Err }

// Staged marks err (nil stays nil) as failing at stage, blaming file. An
// error already marked keeps its stage.
func Staged(stage Stage, file string, err error) error {
	if err == nil {
		return nil
	}
	var se *StageError
	if errors.As(err, &se) {
		return err
	}
	return &StageError{Stage: stage, File: file, Err: err}
}

// StageOf returns the stage err was marked with, and false when it was
// not marked.
func StageOf(err error) (*StageError, bool) {
	var se *StageError
	if errors.As(err, &se) {
		return se, true
	}
	return nil, false
}
