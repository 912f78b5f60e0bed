package kube

import (
	"fmt"
	"strings"
	"testing"
)

func TestSelectorMatches(t *testing.T) {
	web := map[string]string{"app": "web", "tier": "front"}
	db := map[string]string{"app": "db", "tier": "back", "team": ""}
	for _, tc := range []struct {
		name       string
		namespaces []string
		match      map[string]string
		exprs      []Requirement
		ns         string
		labels     map[string]string
		want       bool
	}{
		{"nothing selects all", nil, nil, nil, "a", nil, true},
		{"namespace in list", []string{"team-a", "team-b"}, nil, nil, "team-b", web, true},
		{"namespace not in list", []string{"team-a", "team-b"}, nil, nil, "team-c", web, false},
		{"namespace empty not in list", []string{"team-a"}, nil, nil, "", web, false},
		{"matchLabels equal", nil, map[string]string{"app": "web"}, nil, "a", web, true},
		{"matchLabels other value", nil, map[string]string{"app": "web"}, nil, "a", db, false},
		{"matchLabels missing label", nil, map[string]string{"zone": "x"}, nil, "a", web, false},
		{"matchLabels nil labels", nil, map[string]string{"app": "web"}, nil, "a", nil, false},
		{"matchLabels empty value set", nil, map[string]string{"team": ""}, nil, "a", db, true},
		{"matchLabels empty value unset", nil, map[string]string{"team": ""}, nil, "a", web, false},
		{"matchLabels all must hold", nil, map[string]string{"app": "web", "tier": "back"}, nil, "a", web, false},
		{"In one of", nil, nil, []Requirement{{"tier", OpIn, []string{"front", "back"}}}, "a", db, true},
		{"In none of", nil, nil, []Requirement{{"tier", OpIn, []string{"middle"}}}, "a", db, false},
		{"In unset", nil, nil, []Requirement{{"zone", OpIn, []string{"x"}}}, "a", db, false},
		{"In empty labels", nil, nil, []Requirement{{"tier", OpIn, []string{"front"}}}, "a", map[string]string{}, false},
		{"NotIn other", nil, nil, []Requirement{{"tier", OpNotIn, []string{"back"}}}, "a", web, true},
		{"NotIn listed", nil, nil, []Requirement{{"tier", OpNotIn, []string{"back"}}}, "a", db, false},
		{"NotIn unset", nil, nil, []Requirement{{"zone", OpNotIn, []string{"x"}}}, "a", web, true},
		{"NotIn nil labels", nil, nil, []Requirement{{"zone", OpNotIn, []string{"x"}}}, "a", nil, true},
		{"Exists set", nil, nil, []Requirement{{"tier", OpExists, nil}}, "a", web, true},
		{"Exists set empty", nil, nil, []Requirement{{"team", OpExists, nil}}, "a", db, true},
		{"Exists unset", nil, nil, []Requirement{{"team", OpExists, nil}}, "a", web, false},
		{"Exists nil labels", nil, nil, []Requirement{{"team", OpExists, nil}}, "a", nil, false},
		{"DoesNotExist unset", nil, nil, []Requirement{{"team", OpDoesNotExist, nil}}, "a", web, true},
		{"DoesNotExist set empty", nil, nil, []Requirement{{"team", OpDoesNotExist, nil}}, "a", db, false},
		{"DoesNotExist nil labels", nil, nil, []Requirement{{"team", OpDoesNotExist, nil}}, "a", nil, true},
		{"key is case sensitive", nil, nil, []Requirement{{"App", OpExists, nil}}, "a", web, false},
		{"everything holds", []string{"team-a"}, map[string]string{"app": "web"},
			[]Requirement{{"tier", OpIn, []string{"front"}}, {"team", OpDoesNotExist, nil}}, "team-a", web, true},
		{"one expression fails", []string{"team-a"}, map[string]string{"app": "web"},
			[]Requirement{{"tier", OpIn, []string{"front"}}, {"tier", OpNotIn, []string{"front"}}}, "team-a", web, false},
		{"labels hold, namespace not", []string{"team-a"}, map[string]string{"app": "web"}, nil, "team-b", web, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSelector(tc.namespaces, tc.match, tc.exprs)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Matches(tc.ns, tc.labels); got != tc.want {
				t.Errorf("%s: Matches(%q, %v) = %v, want %v", s, tc.ns, tc.labels, got, tc.want)
			}
		})
	}
}

func TestNewSelectorErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Requirement
		want string
	}{
		{"In without values", Requirement{"a", OpIn, nil}, "matchExpressions[0]: operator In needs at least one value"},
		{"NotIn without values", Requirement{"a", OpNotIn, []string{}}, "operator NotIn needs at least one value"},
		{"Exists with values", Requirement{"a", OpExists, []string{"x"}}, "operator Exists takes no values"},
		{"DoesNotExist with values", Requirement{"a", OpDoesNotExist, []string{""}}, "operator DoesNotExist takes no values"},
		{"unknown operator", Requirement{"a", "Equals", []string{"x"}}, `unknown operator "Equals"`},
		{"lower-case operator", Requirement{"a", "in", []string{"x"}}, `unknown operator "in"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSelector(nil, nil, []Requirement{tc.r})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestSelectorOwnsItsInput checks that changing the slices and map given
// to NewSelector afterwards does not change what it selects.
func TestSelectorOwnsItsInput(t *testing.T) {
	ns := []string{"a"}
	match := map[string]string{"app": "web"}
	exprs := []Requirement{{"tier", OpIn, []string{"front"}}}
	s, err := NewSelector(ns, match, exprs)
	if err != nil {
		t.Fatal(err)
	}
	ns[0], match["app"], exprs[0].Values[0] = "b", "db", "back"
	if !s.Matches("a", map[string]string{"app": "web", "tier": "front"}) {
		t.Error("the selector changed with its input")
	}
}

func TestSelectorString(t *testing.T) {
	s, err := NewSelector([]string{"b", "a"}, map[string]string{"app": "web"}, []Requirement{
		{"tier", OpNotIn, []string{"x", "y"}}, {"t", OpExists, nil}, {"u", OpDoesNotExist, nil},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "namespace in (a,b), app in (web), tier notin (x,y), t, !u"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// BenchmarkSelectorLongIn matches 1,000 pods against an In requirement of
// 100,000 values, the last of which each pod has: 268 ms when the list was
// searched for each pod, 21 us with a set (2 cores).
func BenchmarkSelectorLongIn(b *testing.B) {
	values := make([]string, 100000)
	for i := range values {
		values[i] = fmt.Sprintf("v%d", i)
	}
	sel, err := NewSelector(nil, nil, []Requirement{{Key: "app", Operator: OpIn, Values: values}})
	if err != nil {
		b.Fatal(err)
	}
	labels := map[string]string{"app": values[len(values)-1]}
	b.ReportAllocs()
	for b.Loop() {
		for range 1000 {
			if !sel.Matches("a", labels) {
				b.Fatal("no match")
			}
		}
	}
}
