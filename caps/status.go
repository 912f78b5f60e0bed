package caps

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// State is a thread's capability sets and no_new_privs flag, as
// /proc/PID/status shows them.
type State struct {
	Inheritable, Permitted, Effective, Bounding, Ambient Set
	// NoNewPrivs: execve can grant no privileges (prctl PR_SET_NO_NEW_PRIVS).
	NoNewPrivs bool
}

// Current reads the process's capability state from /proc/self/status,
// which shows its main thread; [Keep] gives every thread the same state.
// Use [ReadStatus] on /proc/self/task/TID/status for a given thread.
func Current() (State, error) { return ReadStatus("/proc/self/status") }

// ReadStatus reads the capability state from a status file of procfs:
// /proc/PID/status or /proc/PID/task/TID/status.
func ReadStatus(path string) (State, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return State{}, fmt.Errorf("caps: %w", err)
	}
	st, err := parseStatus(bytes.NewReader(raw))
	if err != nil {
		return State{}, fmt.Errorf("caps: %s: %w", path, err)
	}
	return st, nil
}

// parseStatus reads the Cap* lines (hexadecimal masks) and NoNewPrivs of a
// status file. CapInh, CapPrm, CapEff and CapBnd are required; CapAmb
// (Linux 4.3) and NoNewPrivs (4.10) are read when present.
func parseStatus(r io.Reader) (State, error) {
	var st State
	fields := map[string]*Set{
		"CapInh": &st.Inheritable, "CapPrm": &st.Permitted, "CapEff": &st.Effective,
		"CapBnd": &st.Bounding, "CapAmb": &st.Ambient,
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		if key == "NoNewPrivs" {
			st.NoNewPrivs = value == "1"
			continue
		}
		set, ok := fields[key]
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(value, 16, 64)
		if err != nil {
			return State{}, fmt.Errorf("%s: %w", key, err)
		}
		*set = Set(n)
		seen[key] = true
	}
	if err := sc.Err(); err != nil {
		return State{}, err
	}
	for _, key := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd"} {
		if !seen[key] {
			return State{}, fmt.Errorf("no %s line", key)
		}
	}
	return st, nil
}
