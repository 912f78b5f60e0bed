package systemd

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// unit is a unit file's settings: key to its values, in order (systemd
// allows most keys more than once).
type unit map[string][]string

// parseUnit reads a unit file: KEY=value lines, comments and section
// headers skipped (the keys the tests read are in [Service] only).
func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: line %q is not KEY=value", path, line)
		}
		u[k] = append(u[k], v)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// first is the first value of key ("" if none).
func (u unit) first(key string) string {
	if len(u[key]) == 0 {
		return ""
	}
	return u[key][0]
}

// words are the space-separated words of every value of key.
func (u unit) words(key string) []string {
	var out []string
	for _, v := range u[key] {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// envArgs reads EBPFMON_ARGS from an EnvironmentFile (one VAR="value"
// line) and splits it as systemd splits an unquoted $VAR in ExecStart.
func envArgs(t *testing.T, path string) []string {
	t.Helper()
	for _, line := range strings.Split(readFile(t, path), "\n") {
		if v, ok := strings.CutPrefix(line, "EBPFMON_ARGS="); ok {
			return strings.Fields(strings.Trim(v, `"`))
		}
	}
	t.Fatalf("%s: no EBPFMON_ARGS= line", path)
	return nil
}
