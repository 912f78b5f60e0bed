package series

import (
	"log/slog"

	dto "github.com/prometheus/client_model/go"

	"github.com/ebpfmon/ebpfmon/decoder"
)

// Source is one exported metric: a map read at scrape time (MapMetric) or
// event records counted as they come (EventCounter).
type Source interface {
	// Gather returns the metric family as of now and what went wrong with
	// labels on the way; an error means the source could not be read.
	Gather() (*dto.MetricFamily, GatherStats, error)
	// MetricName is the metric's name, with namespace.
	MetricName() string
	// MapName is the name of the map the source reads.
	MapName() string
	// Foldings counts the label sets folded into the overflow series so
	// far (see each source's for what counts once).
	Foldings() uint64
	// Close stops the source; later gathers fail.
	Close() error
}

// Options are what the sources of one config share.
type Options struct {
	// Namespace prefixes every metric name ("ebpfmon").
	Namespace string
	// Env holds the system lookups decoders share.
	Env *decoder.Env
	// Logger receives what event counters report (read errors, drops).
	Logger *slog.Logger
	// MaxSeries is the most label sets a source exports, each its own
	// series (one per CPU when split by CPU); further ones fold into one
	// overflow series whose label values are all OverflowValue. 0: no
	// bound.
	MaxSeries int
}

var (
	_ Source = (*MapMetric)(nil)
	_ Source = (*EventCounter)(nil)
)
