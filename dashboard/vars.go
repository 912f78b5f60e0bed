package dashboard

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// podLabels are the labels that get a dashboard variable when a metric
// has them, in the order the variables appear; each filters the next.
func podLabels() []string { return []string{"namespace", "pod"} }

// variables are the dashboard's variables and which labels have one.
type variables struct {
	list   []Variable
	labels []string // the podLabels that have a variable
}

// newVariables returns the data source and instance variables, and a
// variable for each of podLabels that some metric has, listing that
// label's values among exactly those metrics.
func newVariables(ns string, metrics []metric) *variables {
	v := &variables{}
	v.list = append(v.list, Variable{
		Current: struct{}{}, Label: "Data source", Name: "datasource", Options: []any{},
		Query: "prometheus", Refresh: 1, Type: "datasource",
		Description: "The Prometheus that scrapes ebpfmon.",
	})
	v.list = append(v.list, queryVariable("instance", "Instance",
		"ebpfmon's targets (its build_info series).",
		fmt.Sprintf("label_values(%s, instance)", prometheus.BuildFQName(ns, "", "build_info"))))
	for _, label := range podLabels() {
		var with []metric
		for _, m := range metrics {
			if m.has(label) {
				with = append(with, m)
			}
		}
		if len(with) == 0 {
			continue
		}
		filters := []string{`instance=~"$instance"`}
		for _, prev := range v.labels {
			if !slices.ContainsFunc(with, func(m metric) bool { return !m.has(prev) }) {
				filters = append(filters, matcher(prev))
			}
		}
		v.labels = append(v.labels, label)
		var names []string
		for _, m := range with {
			names = append(names, m.series())
		}
		v.list = append(v.list, queryVariable(label, strings.ToUpper(label[:1])+label[1:],
			"The "+label+" label of "+strings.Join(names, ", ")+"; All includes series where it is empty.",
			fmt.Sprintf("label_values(%s, %s)", seriesSelector(names, filters), label)))
	}
	return v
}

// matcher selects label by its variable: label=~"$label".
func matcher(label string) string { return fmt.Sprintf(`%s=~"$%s"`, label, label) }

// selector is the label matchers of m's queries: instance, and each
// variable's label that m has.
func (v *variables) selector(m metric) string {
	filters := []string{`instance=~"$instance"`}
	for _, label := range v.labels {
		if m.has(label) {
			filters = append(filters, matcher(label))
		}
	}
	return "{" + strings.Join(filters, ", ") + "}"
}

// queryVariable is a multi-value query variable whose All is ".*", so that
// selecting All keeps series with the label empty, refreshed when the
// time range changes.
func queryVariable(name, label, description, query string) Variable {
	return Variable{
		AllValue: ".*", Current: struct{}{}, Datasource: promDatasource(), Definition: query,
		Description: description, IncludeAll: true, Label: label, Multi: true, Name: name,
		Options: []any{}, Query: query, Refresh: 2, Sort: 1, Type: "query",
	}
}

// seriesSelector selects the series of the named metrics with filters.
func seriesSelector(names, filters []string) string {
	if len(names) == 1 {
		return names[0] + "{" + strings.Join(filters, ", ") + "}"
	}
	return fmt.Sprintf(`{__name__=~"%s", %s}`, strings.Join(names, "|"), strings.Join(filters, ", "))
}
