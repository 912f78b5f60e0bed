package kube

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Operator is how a [Requirement] compares a label with its values, as in
// a Kubernetes label selector's matchExpressions.
type Operator string

// The operators of a label selector.
const (
	// OpIn: the label is set to one of the values.
	OpIn Operator = "In"
	// OpNotIn: the label is unset, or set to none of the values.
	OpNotIn Operator = "NotIn"
	// OpExists: the label is set, to any value.
	OpExists Operator = "Exists"
	// OpDoesNotExist: the label is unset.
	OpDoesNotExist Operator = "DoesNotExist"
)

// Operators lists the operators a [Requirement] may use.
func Operators() []Operator { return []Operator{OpIn, OpNotIn, OpExists, OpDoesNotExist} }

// Requirement is one of a selector's matchExpressions.
type Requirement struct {
	Key      string
	Operator Operator
	// Values: at least one for In and NotIn, none for Exists and
	// DoesNotExist.
	Values []string
}

// Selector selects pods by namespace and labels: a Kubernetes label
// selector (matchLabels and matchExpressions, all of which must hold) and
// a list of namespaces. It is immutable and safe for concurrent use.
type Selector struct {
	namespaces []string      // sorted; empty: every namespace
	reqs       []Requirement // matchLabels first, as In with one value
	// values holds each requirement's values as a set: In and NotIn lists
	// may be long, and searching one of 100,000 values for each of 1,000
	// pods took 268 ms per re-evaluation.
	values []map[string]bool
}

// NewSelector returns the selector of the pods in one of namespaces (none:
// in any) whose labels satisfy matchLabels and every one of exprs. A
// requirement with an unknown operator, In or NotIn without values, or
// Exists or DoesNotExist with values is an error, as in Kubernetes. A
// selector of nothing at all (every pod) is allowed here; config refuses it.
func NewSelector(namespaces []string, matchLabels map[string]string, exprs []Requirement) (*Selector, error) {
	s := &Selector{namespaces: slices.Clone(namespaces)}
	slices.Sort(s.namespaces)
	keys := make([]string, 0, len(matchLabels))
	for k := range matchLabels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s.reqs = append(s.reqs, Requirement{Key: k, Operator: OpIn, Values: []string{matchLabels[k]}})
	}
	var errs []error
	for i, r := range exprs {
		if err := r.check(); err != nil {
			errs = append(errs, fmt.Errorf("matchExpressions[%d]: %w", i, err))
			continue
		}
		s.reqs = append(s.reqs, Requirement{Key: r.Key, Operator: r.Operator, Values: slices.Clone(r.Values)})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("kube: selector: %w", err)
	}
	for _, r := range s.reqs {
		set := make(map[string]bool, len(r.Values))
		for _, v := range r.Values {
			set[v] = true
		}
		s.values = append(s.values, set)
	}
	return s, nil
}

// check applies Kubernetes' rules on a requirement's operator and values.
func (r Requirement) check() error {
	switch r.Operator {
	case OpIn, OpNotIn:
		if len(r.Values) == 0 {
			return fmt.Errorf("operator %s needs at least one value", r.Operator)
		}
	case OpExists, OpDoesNotExist:
		if len(r.Values) > 0 {
			return fmt.Errorf("operator %s takes no values", r.Operator)
		}
	default:
		return fmt.Errorf("unknown operator %q", r.Operator)
	}
	return nil
}

// Matches reports whether a pod in namespace with labels is selected. A
// nil or empty labels map is a pod without labels.
func (s *Selector) Matches(namespace string, labels map[string]string) bool {
	if len(s.namespaces) > 0 {
		if _, ok := slices.BinarySearch(s.namespaces, namespace); !ok {
			return false
		}
	}
	for i, r := range s.reqs {
		if !r.matches(labels, s.values[i]) {
			return false
		}
	}
	return true
}

// matches reports whether labels satisfy r, whose Values are the set values.
func (r Requirement) matches(labels map[string]string, values map[string]bool) bool {
	v, set := labels[r.Key]
	switch r.Operator {
	case OpIn:
		return set && values[v]
	case OpNotIn:
		return !set || !values[v]
	case OpExists:
		return set
	case OpDoesNotExist:
		return !set
	}
	return false
}

// String describes the selector for logs, in the form of kubectl's -l
// (with the namespaces in front): "namespaces in (a,b), app in (web), !tier".
func (s *Selector) String() string {
	var parts []string
	if len(s.namespaces) > 0 {
		parts = append(parts, "namespace in ("+strings.Join(s.namespaces, ",")+")")
	}
	for _, r := range s.reqs {
		switch r.Operator {
		case OpIn:
			parts = append(parts, r.Key+" in ("+strings.Join(r.Values, ",")+")")
		case OpNotIn:
			parts = append(parts, r.Key+" notin ("+strings.Join(r.Values, ",")+")")
		case OpExists:
			parts = append(parts, r.Key)
		case OpDoesNotExist:
			parts = append(parts, "!"+r.Key)
		}
	}
	if len(parts) == 0 {
		return "every pod"
	}
	return strings.Join(parts, ", ")
}
