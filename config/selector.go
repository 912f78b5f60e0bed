package config

import (
	"fmt"
	"sort"
	"strings"
)

// Limits of Kubernetes names, checked loosely: lengths and characters, so
// that a typo is caught at load rather than selecting nothing.
const (
	maxLabelName   = 63  // a label name, a label value, a namespace
	maxLabelPrefix = 253 // a label key's DNS subdomain prefix
)

// podSelector checks a cgroup_id_map selector at path p as Kubernetes
// checks a label selector, and refuses one that selects every pod.
func (v *validator) podSelector(p string, s *PodSelector) {
	if s.Empty() {
		v.add(p, "empty: it would select every pod; give namespaces, matchLabels or matchExpressions, "+
			"or, if every pod is meant, use regexps: ['^/kubepods'] instead of selector")
		return
	}
	first := make(map[string]int, len(s.Namespaces)) // a map: searching the list took 15.7 s for 100,000
	for i, ns := range s.Namespaces {
		np := fmt.Sprintf("%s.namespaces[%d]", p, i)
		if msg := checkNamespace(ns); msg != "" {
			v.add(np, "%q %s", ns, msg)
		} else if j, dup := first[ns]; dup {
			v.add(np, "%q already listed at namespaces[%d]", ns, j)
		} else {
			first[ns] = i
		}
	}
	keys := make([]string, 0, len(s.MatchLabels))
	for k := range s.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lp := fmt.Sprintf("%s.matchLabels[%q]", p, k)
		if msg := checkLabelKey(k); msg != "" {
			v.add(lp, "key %q %s", k, msg)
		}
		if msg := checkLabelValue(s.MatchLabels[k]); msg != "" {
			v.add(lp, "value %q %s", s.MatchLabels[k], msg)
		}
	}
	for i, r := range s.MatchExpressions {
		v.labelRequirement(fmt.Sprintf("%s.matchExpressions[%d]", p, i), r)
	}
}

// labelRequirement checks one matchExpressions term.
func (v *validator) labelRequirement(p string, r LabelRequirement) {
	if r.Key == "" {
		v.add(p+".key", "missing, want the label to test, such as app or app.kubernetes.io/name")
	} else if msg := checkLabelKey(r.Key); msg != "" {
		v.add(p+".key", "%q %s", r.Key, msg)
	}
	switch r.Operator {
	case "In", "NotIn":
		if len(r.Values) == 0 {
			v.add(p+".values", "empty, operator %s needs at least one value", r.Operator)
		}
	case "Exists", "DoesNotExist":
		if len(r.Values) > 0 {
			v.add(p+".values", "operator %s takes no values, remove them (or use In or NotIn)", r.Operator)
		}
	case "":
		v.add(p+".operator", "missing, want one of %s", strings.Join(LabelOperators(), ", "))
	default:
		v.add(p+".operator", "unknown %q, want one of %s (as in Kubernetes, capitalised)", r.Operator, strings.Join(LabelOperators(), ", "))
	}
	for i, val := range r.Values {
		if msg := checkLabelValue(val); msg != "" {
			v.add(fmt.Sprintf("%s.values[%d]", p, i), "%q %s", val, msg)
		}
	}
}

// checkNamespace returns what is wrong with a namespace name (a DNS label:
// lower-case letters, digits and '-', starting and ending with a letter or
// digit, at most 63 characters), or "".
func checkNamespace(ns string) string {
	if ns == "" || len(ns) > maxLabelName || !allOf(ns, isLowerAlnum, "-") {
		return "is not a namespace name: want at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit"
	}
	return ""
}

// checkLabelKey returns what is wrong with a label key ([prefix/]name), or "".
func checkLabelKey(key string) string {
	const want = "is not a label key: want a name of at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit, " +
		"optionally after a DNS prefix and '/' (app.kubernetes.io/name)"
	prefix, name, hasPrefix := strings.Cut(key, "/")
	if !hasPrefix {
		prefix, name = "", key
	}
	if hasPrefix && (prefix == "" || len(prefix) > maxLabelPrefix || !allOf(prefix, isLowerAlnum, "-.")) {
		return want
	}
	if name == "" || checkLabelValue(name) != "" {
		return want
	}
	return ""
}

// checkLabelValue returns what is wrong with a label value (empty, or at
// most 63 letters, digits, '-', '_' and '.', starting and ending with a
// letter or digit), or "".
func checkLabelValue(val string) string {
	if val == "" {
		return ""
	}
	if len(val) > maxLabelName || !allOf(val, isAlnum, "-_.") {
		return "is not a label value: want at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
	}
	return ""
}

// allOf reports whether s is made of characters ok accepts and of inner,
// which must not start or end it.
func allOf(s string, ok func(rune) bool, inner string) bool {
	for i, r := range s {
		edge := i == 0 || i == len(s)-1
		if !ok(r) && (edge || !strings.ContainsRune(inner, r)) {
			return false
		}
	}
	return true
}

func isAlnum(r rune) bool      { return isLetter(r) || isDigit(r) }
func isLowerAlnum(r rune) bool { return 'a' <= r && r <= 'z' || isDigit(r) }
