package lifecycle

import (
	"errors"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/ebpfmon/ebpfmon/series"
)

// fakeSource is a series.Source whose Gather runs gather.
type fakeSource struct {
	name   string
	gather func() (*dto.MetricFamily, series.GatherStats, error)
}

func (s fakeSource) Gather() (*dto.MetricFamily, series.GatherStats, error) { return s.gather() }
func (s fakeSource) MetricName() string                                     { return "ebpfmon_" + s.name }
func (s fakeSource) MapName() string                                        { return s.name }
func (s fakeSource) Foldings() uint64                                       { return 0 }
func (s fakeSource) Close() error                                           { return nil }

// TestGatherSourceRecovers checks a panic while gathering a map (a decoder
// bug) becomes that map's error, naming the map and the panic, and that
// what does not panic is returned as it is.
func TestGatherSourceRecovers(t *testing.T) {
	fam := &dto.MetricFamily{Name: proto.String("ebpfmon_ok")}
	var nilMap map[string]int
	for _, tc := range []struct {
		name    string
		gather  func() (*dto.MetricFamily, series.GatherStats, error)
		wantErr string // "": no error
	}{
		{"ok", func() (*dto.MetricFamily, series.GatherStats, error) { return fam, series.GatherStats{}, nil }, ""},
		{"error", func() (*dto.MetricFamily, series.GatherStats, error) {
			return nil, series.GatherStats{}, errors.New("read failed")
		}, "read failed"},
		{"panic", func() (*dto.MetricFamily, series.GatherStats, error) { panic("decoder bug") }, "map m: gather panicked"},
		{"runtime error", func() (*dto.MetricFamily, series.GatherStats, error) {
			nilMap["x"] = 1
			return fam, series.GatherStats{}, nil
		}, "assignment to entry in nil map"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := gatherSource(fakeSource{"m", tc.gather})
			switch {
			case tc.wantErr == "" && (err != nil || got != fam):
				t.Errorf("got %v, %v; want the family", got, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || got != nil):
				t.Errorf("got %v, %v; want no family and an error with %q", got, err, tc.wantErr)
			}
		})
	}
}
