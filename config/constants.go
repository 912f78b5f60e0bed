package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Constants is the constants section, an ebpfmon extension to
// ebpf_exporter's format: values for the object's "volatile const"
// globals, set before it is loaded, so a filter (a port, a threshold, a
// sampling rate) changes with the YAML instead of the .bpf.c. Package
// lifecycle checks each value against the variable's BTF type.
type Constants []Constant

// Constant is one entry of constants: NAME: VALUE.
type Constant struct {
	// Name is the global variable's name in the object.
	Name string
	// Value is the YAML value: int64 when negative, uint64 when a whole
	// number >= 0, bool, or string.
	Value any
	// Line is the line of the entry in the YAML file.
	Line int
}

// KaddrPrefix starts the constants that kaddrs sets; constants may not
// name them.
const KaddrPrefix = "kaddr_"

// constantWant is what a constant's value may be.
const constantWant = "want an integer, true/false or a string"

// UnmarshalYAML decodes a mapping of variable name to scalar value, in
// file order, each entry with its line; every bad entry is reported.
func (cs *Constants) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return typeError(n, "constants: want a mapping of variable name to value, such as {min_latency_ns: 10000}")
	}
	out := make(Constants, 0, len(n.Content)/2)
	var errs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			errs = append(errs, fmt.Sprintf("line %d: constants: want variable names as keys, not a %s or merge key (<<)", k.Line, kindName(k.Kind)))
			continue
		}
		value, err := constantValue(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("line %d: constants.%s: %v", v.Line, k.Value, err))
			continue
		}
		out = append(out, Constant{Name: k.Value, Value: value, Line: k.Line})
	}
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	*cs = out
	return nil
}

// constantValue decodes a constant's YAML value into int64 (negative),
// uint64, bool or string.
func constantValue(n *yaml.Node) (any, error) {
	if n.Kind != yaml.ScalarNode && n.Kind != yaml.AliasNode {
		return nil, fmt.Errorf("a %s, %s", kindName(n.Kind), constantWant)
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w, %s", err, constantWant)
	}
	switch v := v.(type) {
	case int:
		if v < 0 {
			return int64(v), nil
		}
		return uint64(v), nil
	case int64:
		if v < 0 {
			return v, nil
		}
		return uint64(v), nil
	case uint64, bool, string:
		return v, nil
	case float64:
		return nil, fmt.Errorf("%v is not a whole number from -2^63 to 2^64-1, %s (floating point is not supported)", v, constantWant)
	case nil:
		return nil, fmt.Errorf("no value, %s", constantWant)
	}
	return nil, fmt.Errorf("a %T, %s", v, constantWant)
}

// constants checks the names: C identifiers, not kaddr_ ones, each once.
func (v *validator) constants(cs Constants) {
	lines := map[string]int{}
	for _, c := range cs {
		p := "constants." + c.Name
		switch {
		case !validCIdentifier(c.Name):
			v.addLine(c.Line, p, "%q is not a C identifier, want the name of a volatile const global: [a-zA-Z_][a-zA-Z0-9_]*", c.Name)
		case strings.HasPrefix(c.Name, KaddrPrefix):
			v.addLine(c.Line, p, "%s constants hold kernel addresses and are set from kaddrs: list the symbol under kaddrs (kaddrs: [%s]) instead", KaddrPrefix, strings.TrimPrefix(c.Name, KaddrPrefix))
		}
		if first, ok := lines[c.Name]; ok {
			v.addLine(c.Line, p, "already set at line %d, set each constant once", first)
			continue
		}
		lines[c.Name] = c.Line
	}
}

// validCIdentifier reports whether s matches [a-zA-Z_][a-zA-Z0-9_]*.
func validCIdentifier(s string) bool {
	for i, r := range s {
		if !(r == '_' || isLetter(r) || i > 0 && isDigit(r)) {
			return false
		}
	}
	return s != ""
}
