package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestListEmptyDir(t *testing.T) {
	names, err := List(t.TempDir())
	if err != nil || names == nil || len(names) != 0 {
		t.Errorf("List(empty dir) = %q, %v; want an empty list", names, err)
	}
}

func TestParseNames(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
		err        string
	}{
		{"empty", "", []string{}, ""},
		{"only comments", "# none\n  # still none\n", []string{}, ""},
		{"lines", "timers\nsyscalls\n", []string{"timers", "syscalls"}, ""},
		{"commas and spaces", "timers, syscalls\texec,,\r\nrunqlat", []string{"timers", "syscalls", "exec", "runqlat"}, ""},
		{"comment after name", "timers # the timers\n#exec\nsyscalls", []string{"timers", "syscalls"}, ""},
		{"no final newline", "timers", []string{"timers"}, ""},
		{"longest name", strings.Repeat("a", MaxNameLen), []string{strings.Repeat("a", MaxNameLen)}, ""},
		{"name too long", "timers " + strings.Repeat("a", 60000) + "\xff", nil, `config "` + strings.Repeat("a", 40) + `"...: 60001 bytes, over the 249 a file name NAME.bpf.o allows`},
		{"byte order mark", "\ufefftimers\r\nsyscalls\r\n", []string{"timers", "syscalls"}, ""},
		{"twice", "timers\ntimers", nil, `config "timers" given twice`},
		{"yaml suffix", "timers.yaml", nil, "give the name without .yaml"},
		{"path", "../timers", nil, "want a file name, not a path"},
		{"bad utf-8", "a\xff", nil, "not valid UTF-8"},
		{"control character", "a\x01b", nil, "control character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseNames(tc.text)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) || got == nil {
				t.Errorf("ParseNames = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestReadNames(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "names")
	writeFile(t, path, "timers\nexec\n")
	if got, err := ReadNames(path); err != nil || !slices.Equal(got, []string{"timers", "exec"}) {
		t.Errorf("ReadNames = %q, %v", got, err)
	}
	writeFile(t, path, "timers\nbad.yaml\n")
	if _, err := ReadNames(path); err == nil || !strings.Contains(err.Error(), "names file "+path+`: config "bad.yaml"`) {
		t.Errorf("bad name: err = %v, want it to name the file and the config", err)
	}
	if _, err := ReadNames(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "names file: ") {
		t.Errorf("missing file: err = %v", err)
	}
	if _, err := ReadNames(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: err = %v", err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(strings.Repeat("a,", MaxNamesFileSize)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadNames(big); err == nil {
		t.Error("a names file over the size limit was read")
	}
}
