package lifecycle

import (
	"errors"

	"github.com/cilium/ebpf"

	"github.com/ebpfmon/ebpfmon/config"
)

// Open marks each of its errors with the stage that failed (a
// *config.StageError): validate for the checks of the config against its
// object, load for the object and the kernel, verifier when the kernel's
// verifier refused a program. They are set here, next to the rules that
// pick them, so that the stages stay in one place.

// validateErr marks err as a mismatch between cfg and its object: the
// YAML is what to fix.
func validateErr(cfg *config.Config, err error) error {
	return config.Staged(config.StageValidate, cfg.Path, err)
}

// loadErr marks err as a failure to load cfg's object into the kernel
// (or to start what reads its maps): the verifier's when it refused a
// program, else the load's. file is what to fix: cfg.BPFPath, or cfg.Path
// when the YAML asks for what this kernel or system lacks.
func loadErr(file string, err error) error {
	var verr *ebpf.VerifierError
	if errors.As(err, &verr) {
		return config.Staged(config.StageVerifier, file, err)
	}
	return config.Staged(config.StageLoad, file, err)
}

// VerifierLog returns the last lines (at most 20, as errors show them)
// the verifier printed before refusing a program, when err holds its
// refusal; else nil.
func VerifierLog(err error) []string {
	var verr *ebpf.VerifierError
	if !errors.As(err, &verr) {
		return nil
	}
	lines := verr.Log
	if n := verifierTailLines; len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
