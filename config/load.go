package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/ebpfmon/ebpfmon/internal/regfile"
)

// MaxFileSize is the largest NAME.yaml Load and Parse accept. Real
// configs are a few KiB; a large static_map stays well below it.
const MaxFileSize = 16 << 20

// Load reads dir/NAME.yaml, applies defaults and validates it. It does not
// look at NAME.bpf.o. NAME.yaml must be a regular file (or a symlink to
// one) of at most MaxFileSize bytes: a FIFO, device or directory is an
// error, not a read that blocks or never ends.
//
// Its errors are *StageError: StageParse (name, read, YAML) or
// StageValidate (Validate).
func Load(dir, name string) (*Config, error) {
	path := filepath.Join(dir, name+".yaml")
	if err := CheckName(name); err != nil {
		return nil, Staged(StageParse, path, err)
	}
	data, err := regfile.Read(path, MaxFileSize)
	if err != nil {
		return nil, Staged(StageParse, path, fmt.Errorf("config %q: %w", name, readError(path, err)))
	}
	cfg, err := parse(data, path)
	if err != nil {
		return nil, Staged(StageParse, path, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, Staged(StageValidate, path, err)
	}
	return cfg, nil
}

// readError adds to a failed read of NAME.yaml what the user can do.
func readError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &missingFileError{path: path, hint: "want NAME.yaml in the config directory", err: err}
	case errors.Is(err, regfile.ErrNotRegular):
		return fmt.Errorf("%w; NAME.yaml must be a regular file (or a symlink to one)", err)
	case errors.Is(err, regfile.ErrTooLarge):
		return fmt.Errorf("%w; a config is at most %s: split it, or shorten its static_map", err, regfile.Size(MaxFileSize))
	}
	return err
}

// CheckName rejects names that cannot be a NAME.yaml in the config
// directory (for --config.names, before anything is loaded).
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("config name is empty")
	case strings.HasSuffix(name, ".yaml"):
		return fmt.Errorf("config %q: give the name without .yaml", name)
	case strings.ContainsRune(name, '/') || name == "." || name == "..":
		return fmt.Errorf("config %q: want a file name, not a path", name)
	}
	if problem := labelValueProblem(name); problem != "" {
		return fmt.Errorf("config %q: %s", name, problem)
	}
	return nil
}

// labelValueProblem says why a config name cannot be the value of the
// config label on the per-config metrics, or returns "".
func labelValueProblem(name string) string {
	switch {
	case !utf8.ValidString(name):
		return "name is not valid UTF-8 (it becomes a metric label value), rename the file"
	case strings.ContainsFunc(name, unicode.IsControl):
		return "name has a control character (it becomes a metric label value), rename the file"
	}
	return ""
}

// Parse decodes one config strictly (an unknown key is an error) and applies
// defaults. path names the file in errors and sets Name, Path and BPFPath.
// Parse does not validate; call Validate.
// At most MaxFileSize bytes are read: more is an error.
func Parse(r io.Reader, path string) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("more than %s, a config is at most that: split it, or shorten its static_map", regfile.Size(MaxFileSize))}
	}
	return parse(data, path)
}

// parse is Parse for a file already read.
func parse(data []byte, path string) (*Config, error) {
	cfg := &Config{
		Name:    strings.TrimSuffix(filepath.Base(path), ".yaml"),
		Path:    path,
		BPFPath: strings.TrimSuffix(path, ".yaml") + ".bpf.o",
	}
	if err := decode(data, path, cfg); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return cfg, nil
}

// decode reads exactly one YAML document into cfg, rejecting unknown keys.
func decode(data []byte, path string, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if errors.Is(err, io.EOF) {
		return &Error{File: path, Msg: "empty file, want a metrics: or tracing: section"}
	}
	if err != nil {
		return decodeError(path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return decodeError(path, err)
		}
		return &Error{File: path, Line: extra.Line, Msg: "a second YAML document, want one per file"}
	}
	return nil
}

// setDefaults fills in what ebpf_exporter assumes when a field is unset.
func (c *Config) setDefaults() {
	for i := range c.Metrics.Counters {
		ctr := &c.Metrics.Counters[i]
		if ctr.PerfEventArray && ctr.FlushInterval == 0 {
			ctr.FlushInterval = DefaultFlushInterval
		}
	}
	for i := range c.Metrics.Histograms {
		h := &c.Metrics.Histograms[i]
		if h.BucketMultiplier == 0 {
			h.BucketMultiplier = 1
		}
	}
	if c.CgroupIDMap != nil && c.CgroupIDMap.Type == "" {
		c.CgroupIDMap.Type = CgroupIDMapHash
	}
	if c.Tracing != nil {
		for i := range c.Tracing.Spans {
			s := &c.Tracing.Spans[i]
			if s.Name == "" {
				s.Name = s.RingBuf
			}
		}
	}
}

// missingFileError reads "PATH: no such file (HINT)" and unwraps to the
// fs error, so errors.Is(err, fs.ErrNotExist) holds.
type missingFileError struct {
	path, hint string
	err        error
}

func (e *missingFileError) Error() string {
	return fmt.Sprintf("%s: no such file (%s)", e.path, e.hint)
}

func (e *missingFileError) Unwrap() error { return e.err }
