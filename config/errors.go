package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ebpfmon/ebpfmon/internal/suggest"
)

// Error is one problem with a config file. Parse and Validate return one
// *Error per problem, joined with errors.Join; errors.As finds the first.
type Error struct {
	// File is the YAML file, as given to Parse or Load.
	File string
	// Line is the 1-based line of the problem, or 0 when not known.
	Line int
	// Field is the path of the field, such as metrics.histograms[0].bucket_type,
	// or empty for a problem with the whole file.
	Field string
	// Msg says what is wrong and, where it can, what to write instead.
	Msg string
}

// Error formats e as FILE[:LINE]: [FIELD: ]MSG.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// decodeError turns a yaml error into one *Error per problem, each naming
// file and line.
func decodeError(file string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return lineError(file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	errs := make([]error, len(te.Errors))
	for i, msg := range te.Errors {
		errs[i] = lineError(file, msg)
	}
	return errors.Join(errs...)
}

// lineError parses yaml's "line N: msg" into an *Error.
func lineError(file, msg string) *Error {
	e := &Error{File: file, Msg: msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, text, found := strings.Cut(rest, ": ")
		if n, err := strconv.Atoi(num); found && err == nil {
			e.Line, e.Msg = n, text
		}
	}
	e.Msg = humanize(e.Msg)
	return e
}

// humanize rewrites yaml's messages about Go types into YAML terms.
func humanize(msg string) string {
	if rest, ok := strings.CutPrefix(msg, "field "); ok {
		if key, typ, found := strings.Cut(rest, " not found in type "); found {
			return unknownField(key, typ)
		}
	}
	switch {
	case strings.HasSuffix(msg, "into time.Duration"):
		return msg + `, want a duration such as "30s" or "1m"`
	case strings.HasSuffix(msg, "into uint"):
		return msg + ", want a byte count: a whole number >= 0"
	case strings.HasSuffix(msg, "into int"):
		return msg + ", want a whole number from -2^63 to 2^63-1"
	}
	for _, s := range sections() {
		msg = strings.ReplaceAll(msg, s.typ.String(), s.name)
	}
	return msg + syntaxHint(msg)
}

// syntaxHint says how to fix the YAML syntax and shape errors whose
// messages from the yaml package only say what is wrong.
func syntaxHint(msg string) string {
	switch {
	case strings.Contains(msg, "found a tab character"):
		return ": indent with spaces, not tabs"
	case strings.HasPrefix(msg, "did not find expected"), strings.HasPrefix(msg, "could not find expected"):
		return ": check the brackets, quotes and indentation on this line and the ones before it"
	case strings.HasPrefix(msg, "mapping key") && strings.Contains(msg, "already defined"):
		return ": remove one of the two"
	case strings.HasPrefix(msg, "cannot unmarshal !!seq into") && !strings.Contains(msg, "into []"):
		return ": want a mapping (KEY: VALUE lines), not a list (- items)"
	case strings.HasPrefix(msg, "cannot unmarshal !!map into []"):
		return ": want a list (- items), not a mapping"
	}
	return ""
}

// unknownField explains a key that no field of Go type typ has.
func unknownField(key, typ string) string {
	for _, s := range sections() {
		if s.typ.String() != typ {
			continue
		}
		known := yamlKeys(s.typ)
		msg := fmt.Sprintf("unknown field %q in %s", key, s.name)
		switch guess := closest(key, known); {
		case key == "programs" && s.typ == reflect.TypeFor[Config]():
			msg += " (ebpf_exporter v1 format); want the v2 format: one NAME.yaml per NAME.bpf.o"
		case guess != "":
			msg += fmt.Sprintf(" (did you mean %q?)", guess)
		}
		return msg + "; known fields: " + strings.Join(known, ", ")
	}
	return fmt.Sprintf("unknown field %q", key)
}

// section is a config struct and what to call it in messages.
type section struct {
	typ  reflect.Type
	name string
}

func sections() []section {
	return []section{
		{reflect.TypeFor[Config](), "the top level"},
		{reflect.TypeFor[Metrics](), "metrics"},
		{reflect.TypeFor[Counter](), "a counter"},
		{reflect.TypeFor[Histogram](), "a histogram"},
		{reflect.TypeFor[Label](), "a label"},
		{reflect.TypeFor[Decoder](), "a decoder"},
		{reflect.TypeFor[CgroupIDMap](), "cgroup_id_map"},
		{reflect.TypeFor[PodSelector](), "cgroup_id_map.selector"},
		{reflect.TypeFor[LabelRequirement](), "a matchExpressions term"},
		{reflect.TypeFor[Tracing](), "tracing"},
		{reflect.TypeFor[Span](), "a span"},
	}
}

// yamlKeys lists the YAML keys of struct type t, in field order.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

// closest returns the candidate within edit distance 2 of s, or "".
func closest(s string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := suggest.Distance(s, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}
