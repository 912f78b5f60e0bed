package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// MaxStaticMapEntries caps the entries of one static_map decoder. A config
// at the cap loads in well under a second; far larger tables belong in the
// BPF program or in a recording rule.
const MaxStaticMapEntries = 100_000

// StaticMap maps a static_map decoder's input to its output.
//
// It decodes itself from YAML in linear time: yaml's own mapping decoder
// checks for duplicate keys by comparing every key with every other one,
// which took 34 s for 100k entries.
type StaticMap map[string]string

// UnmarshalYAML decodes a mapping of scalars, rejecting duplicate keys (as
// yaml does), non-scalar keys or values, and more than MaxStaticMapEntries
// entries, each with its line.
func (m *StaticMap) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return typeError(n, "static_map: want a mapping of input to label value")
	}
	if entries := len(n.Content) / 2; entries > MaxStaticMapEntries {
		return typeError(n, fmt.Sprintf("static_map: %d entries, at most %d: map in the BPF program, or split the label", entries, MaxStaticMapEntries))
	}
	out := make(StaticMap, len(n.Content)/2)
	lines := make(map[string]int, len(n.Content)/2)
	var errs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" {
			errs = append(errs, fmt.Sprintf("line %d: static_map: merge keys (<<) are not supported, list the entries", k.Line))
			continue
		}
		key, err := scalarString(k)
		if err == nil {
			var value string
			if value, err = scalarString(v); err == nil {
				if first, dup := lines[key]; dup {
					errs = append(errs, fmt.Sprintf("line %d: static_map key %q already defined at line %d", k.Line, key, first))
					continue
				}
				lines[key] = k.Line
				out[key] = value
				continue
			}
		}
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	*m = out
	return nil
}

// scalarString decodes a scalar as yaml decodes it into a string: its text
// as written, "" for null; other tags and aliases go through yaml itself.
func scalarString(n *yaml.Node) (string, error) {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!null":
			return "", nil
		case "!!binary":
		default:
			return n.Value, nil
		}
	}
	if n.Kind != yaml.ScalarNode && n.Kind != yaml.AliasNode {
		return "", fmt.Errorf("line %d: static_map: want scalar keys and values, got a %s", n.Line, kindName(n.Kind))
	}
	var s string
	if err := n.Decode(&s); err != nil {
		return "", fmt.Errorf("line %d: static_map: %w", n.Line, err)
	}
	return s, nil
}

// typeError is a yaml.TypeError for node n, so that it reads like yaml's
// own "line N: ..." errors.
func typeError(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	}
	return "node"
}
