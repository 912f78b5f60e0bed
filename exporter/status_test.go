package exporter

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/ebpfmon/ebpfmon/lifecycle"
)

// fakeUnit is a unitGatherer whose Gather runs gather.
type fakeUnit struct {
	name   string
	gather func() ([]*dto.MetricFamily, error)
}

func (u fakeUnit) Name() string                         { return u.name }
func (u fakeUnit) Gather() ([]*dto.MetricFamily, error) { return u.gather() }

// TestGatherUnitRecovers checks a unit that panics while gathering is
// logged and left out, and one beside it still exports.
func TestGatherUnitRecovers(t *testing.T) {
	var log bytes.Buffer
	e := New(lifecycle.Options{Namespace: "ebpfmon", Logger: slog.New(slog.NewTextHandler(&log, nil))})
	fam := []*dto.MetricFamily{{Name: proto.String("ebpfmon_calls")}}
	for _, tc := range []struct {
		name    string
		unit    fakeUnit
		want    int    // families returned
		wantLog string // "" for none
	}{
		{"good", fakeUnit{"good", func() ([]*dto.MetricFamily, error) { return fam, nil }}, 1, ""},
		{"read error", fakeUnit{"partly", func() ([]*dto.MetricFamily, error) { return fam, errors.New("map x: read") }}, 1, `msg="scrape failed" config=partly`},
		{"panic", fakeUnit{"buggy", func() ([]*dto.MetricFamily, error) { panic("decoder bug") }}, 0, `config=buggy panic="decoder bug"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log.Reset()
			if got := e.gatherUnit(tc.unit); len(got) != tc.want {
				t.Errorf("%d families, want %d", len(got), tc.want)
			}
			if (tc.wantLog == "") != (log.Len() == 0) || !strings.Contains(log.String(), tc.wantLog) {
				t.Errorf("log %q, want %q", log.String(), tc.wantLog)
			}
		})
	}
}
