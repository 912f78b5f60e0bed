package main

import (
	"fmt"
	"slices"

	"github.com/ebpfmon/ebpfmon/config"
)

// selfOwner is the owner of the families no config exports: ebpfmon's own
// metrics and client_golang's go_* and process_*.
const selfOwner = "(ebpfmon)"

// owners maps each metric family the configs export to its config, from
// their YAML: a histogram is one family, named as its map.
func owners(dir string, names []string, namespace string) (map[string]string, error) {
	prefix := ""
	if namespace != "" {
		prefix = namespace + "_"
	}
	out := map[string]string{}
	for _, name := range names {
		cfg, err := config.Load(dir, name)
		if err != nil {
			return nil, fmt.Errorf("families of config %s: %w", name, err)
		}
		for _, c := range cfg.Metrics.Counters {
			out[prefix+c.Name] = name
		}
		for _, h := range cfg.Metrics.Histograms {
			out[prefix+h.Name] = name
		}
	}
	return out, nil
}

// baseline is the families of the scrape taken as the start, by owner:
// those that must stay.
type baseline map[string][]string

// newBaseline takes the families of fams, each under its owner.
func newBaseline(fams families, own map[string]string) baseline {
	b := baseline{}
	for name := range fams {
		o, ok := own[name]
		if !ok {
			o = selfOwner
		}
		b[o] = append(b[o], name)
	}
	for _, names := range b {
		slices.Sort(names)
	}
	return b
}

// missing lists, as "owner: family", the baseline families absent from
// fams, but for the owners in grace (configs just reopened by a reload,
// whose new maps are empty until their events come).
func (b baseline) missing(fams families, grace map[string]bool) []string {
	var out []string
	for owner, names := range b {
		if grace[owner] {
			continue
		}
		for _, name := range names {
			if _, ok := fams[name]; !ok {
				out = append(out, owner+": "+name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// count is the number of families in b.
func (b baseline) count() int {
	n := 0
	for _, names := range b {
		n += len(names)
	}
	return n
}
