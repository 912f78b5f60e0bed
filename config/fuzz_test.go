package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse feeds arbitrary bytes to Parse and Validate, seeded with every
// bundled example and every config of testdata (constants, selectors,
// static maps, tracing, cgroup_id_map ...). They may reject the input but
// must not panic, every problem must come back as an error naming the
// file, and what Validate accepts must be cheap to build (at most
// MaxBuckets buckets per histogram) and round-trip: written back as YAML
// it parses and validates to the same config.
func FuzzParse(f *testing.F) {
	var paths []string
	for _, glob := range []string{"testdata/*.yaml", "../examples/*.yaml", "../test/k8s/testdata/*.yaml"} {
		p, err := filepath.Glob(glob)
		if err != nil {
			f.Fatal(err)
		}
		paths = append(paths, p...)
	}
	if len(paths) < 50 {
		f.Fatalf("%d seed configs, the examples or testdata moved", len(paths))
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			if cfg != nil {
				t.Fatal("Parse returned a config and an error")
			}
			checkNamesFile(t, err)
			return
		}
		if err := cfg.Validate(); err != nil {
			checkNamesFile(t, err)
			return
		}
		for i, h := range cfg.Metrics.Histograms {
			l, err := h.BucketLayout()
			if err != nil || len(l.Keys) > MaxBuckets {
				t.Fatalf("histograms[%d] passed Validate but BucketLayout gives %d keys, %v", i, len(l.Keys), err)
			}
		}
		checkRoundTrip(t, cfg)
	})
}

// checkNamesFile checks that every error in err (Validate joins several)
// names the file.
func checkNamesFile(t *testing.T, err error) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		if !strings.Contains(e.Error(), "fuzz.yaml") {
			t.Fatalf("error %q does not name the file", e)
		}
	}
	var ce *Error
	if errors.As(err, &ce) && ce.File != "fuzz.yaml" {
		t.Fatalf("error %q gives file %q", ce, ce.File)
	}
}

// checkRoundTrip writes cfg back as YAML and checks that it parses and
// validates to a config that writes the same YAML.
func checkRoundTrip(t *testing.T, cfg *Config) {
	t.Helper()
	out, err := marshal(cfg)
	if err != nil {
		t.Fatalf("marshal %+v: %v", cfg, err)
	}
	again, err := Parse(bytes.NewReader(out), "fuzz.yaml")
	if err == nil {
		err = again.Validate()
	}
	if err != nil {
		t.Fatalf("written back as\n%s\nit fails: %v", out, err)
	}
	back, err := marshal(again)
	if err != nil || !bytes.Equal(back, out) {
		t.Fatalf("written back as\n%s\nit parses to a config written as\n%s\n%v", out, back, err)
	}
}

// marshal writes cfg as YAML, without the fields that are null or empty
// (Validate tells an empty static_map or regexps from a missing one);
// Constants, a mapping in the file, are written as one.
func marshal(cfg *Config) ([]byte, error) {
	plain := *cfg
	plain.Constants = nil
	var doc yaml.Node
	if err := doc.Encode(&plain); err != nil {
		return nil, err
	}
	consts := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, c := range cfg.Constants {
		var v yaml.Node
		if err := v.Encode(c.Value); err != nil {
			return nil, err
		}
		consts.Content = append(consts.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: c.Name}, &v)
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "constants" {
			doc.Content[i+1] = consts
		}
	}
	prune(&doc)
	return yaml.Marshal(&doc)
}

// prune removes the mapping entries whose value is null, or an empty
// mapping or sequence once pruned.
func prune(n *yaml.Node) {
	for _, c := range n.Content {
		prune(c)
	}
	if n.Kind != yaml.MappingNode {
		return
	}
	kept := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		v := n.Content[i+1]
		if v.Tag == "!!null" || (v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode) && len(v.Content) == 0 {
			continue
		}
		kept = append(kept, n.Content[i], v)
	}
	n.Content = kept
}

// FuzzParseNames checks that every name ParseNames returns is a valid,
// unique config name that fits in a file name, that the names written one
// per line, or comma-separated, parse to the same list, and that an error
// stays short whatever the text (it is logged and served by /-/reload).
func FuzzParseNames(f *testing.F) {
	for _, s := range []string{"", "a,b", "a\nb # c\n", "a a", "#", "x.yaml", "\xff", "\ufeffa", "\ufeff\ufeff", "# the bundled examples\nbiolatency, timers\nsyscalls # slow\r\n\tpodnet", strings.Repeat("\xff", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		names, err := ParseNames(text)
		if err != nil {
			if len(err.Error()) > 2048 {
				t.Fatalf("ParseNames(%q): error of %d bytes", text, len(err.Error()))
			}
			return
		}
		seen := map[string]bool{}
		for _, n := range names {
			if CheckName(n) != nil || seen[n] || strings.ContainsAny(n, ",# \n") || len(n) > MaxNameLen || strings.ContainsRune(n, '\ufeff') {
				t.Fatalf("ParseNames(%q) gave %q", text, n)
			}
			seen[n] = true
		}
		for _, sep := range []string{"\n", ", "} {
			if again, err := ParseNames(strings.Join(names, sep)); err != nil || !slices.Equal(again, names) {
				t.Fatalf("ParseNames(%q) = %q, joined by %q parse to %q, %v", text, names, sep, again, err)
			}
		}
	})
}
