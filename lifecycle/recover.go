package lifecycle

import (
	"fmt"
	"runtime/debug"

	dto "github.com/prometheus/client_model/go"

	"github.com/ebpfmon/ebpfmon/series"
)

// gatherSource gathers s, turning a panic (a bug in a decoder or in
// reading the map) into an error of s: the unit's other maps, the other
// configs and the HTTP server go on, and the scrape counts as failed for
// this config.
func gatherSource(s series.Source) (fam *dto.MetricFamily, st series.GatherStats, err error) {
	defer func() {
		if r := recover(); r != nil {
			fam, st = nil, series.GatherStats{}
			err = fmt.Errorf("map %s: gather panicked (a bug in ebpfmon, please report it with this message): %v\n%s", s.MapName(), r, debug.Stack())
		}
	}()
	return s.Gather()
}
