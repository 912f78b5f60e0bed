package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/ebpfmon/ebpfmon/internal/regfile"
)

// MaxNamesFileSize bounds a names file (see ReadNames).
const MaxNamesFileSize = 64 << 10

// Names lists every NAME with a NAME.yaml in dir, sorted (see List); a
// dir without configs is an error.
func Names(dir string) ([]string, error) {
	names, err := List(dir)
	if err == nil && len(names) == 0 {
		err = fmt.Errorf("list configs: no NAME.yaml files in %s", dir)
	}
	return names, err
}

// List lists every NAME with a NAME.yaml in dir, sorted; none is not an
// error. Hidden files (a mounted ConfigMap's ..data) are skipped; anything
// else named NAME.yaml is listed, so that a directory or a FIFO of that
// name fails to load, saying why, instead of the config vanishing (on a
// reload: being closed as removed). A NAME that cannot be a metric label
// value (not valid UTF-8, or with a control character) is an error that
// names every such file.
func List(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list configs: %w", err)
	}
	names := []string{}
	var errs []error
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".yaml")
		if !ok || name == "" || strings.HasPrefix(name, ".") {
			continue
		}
		if problem := labelValueProblem(name); problem != "" {
			errs = append(errs, fmt.Errorf("list configs: %q: %s", filepath.Join(dir, e.Name()), problem))
			continue
		}
		names = append(names, name)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// ReadNames reads a names file: config names separated by commas, spaces
// or newlines, "#" starting a comment to the end of its line (see
// ParseNames). An empty file names no config.
func ReadNames(path string) ([]string, error) {
	b, err := regfile.Read(path, MaxNamesFileSize)
	if err != nil {
		return nil, fmt.Errorf("names file: %w", err)
	}
	names, err := ParseNames(string(b))
	if err != nil {
		return nil, fmt.Errorf("names file %s: %w", path, err)
	}
	return names, nil
}

// MaxNameLen is the longest config name in bytes: NAME.bpf.o must fit in
// a file name (NAME_MAX, 255 bytes).
const MaxNameLen = 255 - len(".bpf.o")

// ParseNames splits text into config names: separated by commas, white
// space and byte order marks (U+FEFF, which some editors write first),
// "#" to the end of a line a comment. Each name must be at most
// MaxNameLen bytes, pass CheckName and appear once (an error quotes at
// most the start of a long name). No names gives an empty, non-nil list.
func ParseNames(text string) ([]string, error) {
	names := []string{}
	seen := map[string]bool{}
	for line := range strings.Lines(text) {
		line, _, _ = strings.Cut(line, "#")
		for _, n := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == '\ufeff' || unicode.IsSpace(r) }) {
			if len(n) > MaxNameLen {
				return nil, fmt.Errorf("config %.40q...: %d bytes, over the %d a file name NAME.bpf.o allows", n, len(n), MaxNameLen)
			}
			if err := CheckName(n); err != nil {
				return nil, err
			}
			if seen[n] {
				return nil, fmt.Errorf("config %q given twice", n)
			}
			seen[n] = true
			names = append(names, n)
		}
	}
	return names, nil
}
