package config

import (
	"strings"
	"testing"
)

func TestLabelSyntax(t *testing.T) {
	long := strings.Repeat("a", 63)
	for _, tc := range []struct {
		check func(string) string
		in    string
		ok    bool
	}{
		{checkLabelKey, "app", true},
		{checkLabelKey, "app.kubernetes.io/name", true},
		{checkLabelKey, "A_b-c.d", true},
		{checkLabelKey, "example.com/" + long, true},
		{checkLabelKey, long + "a", false},
		{checkLabelKey, "", false},
		{checkLabelKey, "/x", false},
		{checkLabelKey, "x/", false},
		{checkLabelKey, "a/b/c", false},
		{checkLabelKey, "Example.com/x", false},
		{checkLabelKey, "-x", false},
		{checkLabelKey, "x_", false},
		{checkLabelKey, "sp ace", false},
		{checkLabelKey, strings.Repeat("a", 254) + "/x", false},
		{checkLabelValue, "", true},
		{checkLabelValue, "1.4.2", true},
		{checkLabelValue, "v", true},
		{checkLabelValue, long, true},
		{checkLabelValue, long + "a", false},
		{checkLabelValue, "a/b", false},
		{checkLabelValue, ".x", false},
		{checkLabelValue, "é", false},
		{checkNamespace, "team-a", true},
		{checkNamespace, "a", true},
		{checkNamespace, "", false},
		{checkNamespace, "Team", false},
		{checkNamespace, "team.a", false},
		{checkNamespace, "team-", false},
		{checkNamespace, long + "a", false},
	} {
		if got := tc.check(tc.in) == ""; got != tc.ok {
			t.Errorf("%q: valid = %v, want %v", tc.in, got, tc.ok)
		}
	}
}
