package e2e

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"

	"github.com/cilium/ebpf"
)

// debugMap mirrors series.DebugMap, as a client reads it.
type debugMap struct {
	Config  string `json:"config"`
	Map     string `json:"map"`
	Error   string `json:"error"`
	Entries []struct {
		Key    string            `json:"key"`
		Labels map[string]string `json:"labels"`
		Error  string            `json:"error"`
		Values []uint64          `json:"values"`
	} `json:"entries"`
}

// TestDebugMaps reads /maps with --debug: raw keys, decoded labels and
// per-CPU values; without --debug there is no /maps.
func TestDebugMaps(t *testing.T) {
	in := start(t, "--config.dir="+examplesDir, "--config.names=timers,pagefaults", "--debug")
	var maps []debugMap
	in.eventually(t, "timer and page fault entries in /maps", nil, func(metrics) bool {
		if err := json.Unmarshal([]byte(in.get(t, "/maps")), &maps); err != nil {
			t.Fatalf("/maps is not JSON: %v", err)
		}
		n := 0
		for _, m := range maps {
			if len(m.Entries) > 0 {
				n++
			}
		}
		return n == 2
	})
	hexKey := regexp.MustCompile(`^[0-9a-f]+$`)
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range maps {
		if m.Error != "" {
			t.Errorf("%s/%s: %s", m.Config, m.Map, m.Error)
		}
		for _, e := range m.Entries {
			if !hexKey.MatchString(e.Key) || e.Error != "" || len(e.Values) == 0 {
				t.Fatalf("%s/%s: bad entry %+v", m.Config, m.Map, e)
			}
			switch m.Map {
			case "timer_starts_total":
				if len(e.Key) != 16 || e.Labels["function"] == "" || len(e.Values) != 1 {
					t.Errorf("timers entry %+v: want an 8-byte key, a function label, one value", e)
				}
			case "page_faults_total": // per-CPU: one value per possible CPU
				if len(e.Values) != cpus || e.Labels["mode"] == "" {
					t.Errorf("pagefaults entry %+v", e)
				}
			}
		}
	}

	plain := start(t, "--config.dir="+examplesDir, "--config.names=timers")
	resp, err := http.Get(plain.url + "/maps")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/maps without --debug: status %d, want 404", resp.StatusCode)
	}
}
