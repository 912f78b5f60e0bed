package dashboard

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Structure checks on dashboard JSON, read back as plain JSON (not the
// model types), so that they check the bytes Grafana gets.

type jsonDashboard struct {
	Title         string      `json:"title"`
	UID           string      `json:"uid"`
	SchemaVersion int         `json:"schemaVersion"`
	Panels        []jsonPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      any             `json:"query"`
			Datasource json.RawMessage `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type jsonPanel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource json.RawMessage `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Panels     []jsonPanel `json:"panels"`
	Targets    []struct {
		Expr       string          `json:"expr"`
		RefID      string          `json:"refId"`
		Format     string          `json:"format"`
		Datasource json.RawMessage `json:"datasource"`
	} `json:"targets"`
}

// checkStructure returns every structural problem of the dashboard in
// raw: what grafana-dashboard-check.sh checks, plus the layout.
func checkStructure(raw []byte) []string {
	var d jsonDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return []string{fmt.Sprintf("not JSON: %v", err)}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 36 {
		bad("title %q, uid %q, schemaVersion %d: want all set, schemaVersion 36 or later", d.Title, d.UID, d.SchemaVersion)
	}
	// Grafana's own variables, then the dashboard's.
	defined := []string{"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms"}
	varRef := regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)|\[\[([A-Za-z_][A-Za-z0-9_]*)`)
	hasDS := false
	for _, v := range d.Templating.List {
		defined = append(defined, v.Name)
		if v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus" {
			hasDS = true
		}
	}
	if !hasDS {
		bad("no datasource variable of type datasource, query prometheus")
	}
	checkRefs := func(where, text string) {
		for _, m := range varRef.FindAllStringSubmatch(text, -1) {
			name := m[1] + m[2]
			if !slices.Contains(defined, name) {
				bad("%s: $%s is not a defined variable", where, name)
			}
		}
	}
	checkDS := func(where string, raw json.RawMessage) {
		var ds struct{ Type, UID string }
		if err := json.Unmarshal(raw, &ds); err != nil || ds.Type != "prometheus" || ds.UID != "${datasource}" {
			bad("%s: datasource %s, want {type: prometheus, uid: ${datasource}}", where, raw)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			q, _ := v.Query.(string)
			if q == "" {
				bad("variable %s: empty query", v.Name)
			}
			checkRefs("variable "+v.Name, q)
			checkDS("variable "+v.Name, v.Datasource)
		}
	}
	ids := map[int]string{}
	var cells []jsonPanel
	for _, p := range d.Panels {
		if len(p.Panels) > 0 {
			bad("panel %d: nested panels (collapsed rows are not generated)", p.ID)
		}
		where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if other, ok := ids[p.ID]; ok || p.ID <= 0 {
			bad("%s: id taken by %q or not positive", where, other)
		}
		ids[p.ID] = p.Title
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
			bad("%s: gridPos %+v outside the 24-column grid", where, g)
		}
		cells = append(cells, p)
		if p.Type == "row" {
			continue
		}
		if p.Type != "timeseries" && p.Type != "heatmap" {
			bad("%s: type %q, want timeseries or heatmap", where, p.Type)
		}
		checkDS(where, p.Datasource)
		if len(p.Targets) == 0 {
			bad("%s: no targets", where)
		}
		refs := map[string]bool{}
		for _, t := range p.Targets {
			if t.Expr == "" || t.RefID == "" || refs[t.RefID] {
				bad("%s: target %q refId %q: want an expr and a refId of its own", where, t.Expr, t.RefID)
			}
			refs[t.RefID] = true
			checkDS(where+" target "+t.RefID, t.Datasource)
			checkRefs(where, t.Expr)
			if p.Type == "heatmap" && t.Format != "heatmap" {
				bad("%s: heatmap target format %q, want heatmap", where, t.Format)
			}
		}
	}
	for i, a := range cells {
		for _, b := range cells[i+1:] {
			if overlap(a, b) {
				bad("panels %d and %d overlap: %+v, %+v", a.ID, b.ID, a.GridPos, b.GridPos)
			}
		}
	}
	return problems
}

func overlap(a, b jsonPanel) bool {
	ga, gb := a.GridPos, b.GridPos
	return ga.X < gb.X+gb.W && gb.X < ga.X+ga.W && ga.Y < gb.Y+gb.H && gb.Y < ga.Y+ga.H
}

// exprs returns every query of the dashboard: panel targets and query
// variables, keyed by where they are.
func exprs(t testing.TB, raw []byte) map[string]string {
	t.Helper()
	var d jsonDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out[fmt.Sprintf("panel %d %s %s", p.ID, p.Title, tg.RefID)] = tg.Expr
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(string); ok && v.Type == "query" {
			out["variable "+v.Name] = q
		}
	}
	return out
}

func TestCheckStructureFindsProblems(t *testing.T) {
	good := string(mustJSON(t, exampleConfigs(t, "timers", "podexec", "biolatency"), Options{Namespace: "ebpfmon"}))
	if p := checkStructure([]byte(good)); len(p) > 0 {
		t.Fatalf("a generated dashboard has problems: %v", p)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"duplicate id", `"id": 3,`, `"id": 2,`, "id taken"},
		{"undefined variable", `pod=~\"$pod\"`, `pod=~\"$podd\"`, "$podd is not a defined variable"},
		{"hard-coded datasource", `"uid": "${datasource}"`, `"uid": "P1809F7CD0C75ACF3"`, "want {type: prometheus"},
		{"no refId", `"refId": "A"`, `"refId": ""`, "want an expr and a refId"},
		{"no expr", `"expr": "sum by (function)`, `"expr": "", "x": "`, "want an expr and a refId"},
		{"overlap", `"x": 12,`, `"x": 6,`, "overlap"},
		{"outside grid", `"w": 24,`, `"w": 25,`, "outside the 24-column grid"},
		{"heatmap format", `"format": "heatmap"`, `"format": "time_series"`, "want heatmap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broken := strings.Replace(good, tc.old, tc.new, 1)
			if broken == good {
				t.Fatalf("%q not in the dashboard", tc.old)
			}
			p := checkStructure([]byte(broken))
			if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, tc.want) }) {
				t.Fatalf("problems %q, want one with %q", p, tc.want)
			}
		})
	}
}
