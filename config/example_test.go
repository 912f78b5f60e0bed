package config_test

import (
	"fmt"
	"strings"

	"github.com/ebpfmon/ebpfmon/config"
)

// Validate reports every problem at once, one per line, each with the file
// and the field path.
func ExampleConfig_Validate() {
	const yaml = `
metrics:
  histograms:
    - name: run_queue_latency_seconds
      bucket_type: exp3
      bucket_max: 20
      labels:
        - name: bucket
          size: 8
          decoders:
            - name: uint
`
	cfg, err := config.Parse(strings.NewReader(yaml), "examples/runqlat.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Validate())
	// Output:
	// examples/runqlat.yaml: metrics.histograms[0].help: missing, want a one-line description of the metric
	// examples/runqlat.yaml: metrics.histograms[0].bucket_type: unknown "exp3", want exp2|exp2zero|linear|fixed
}

// Parse rejects unknown keys, naming the line and suggesting the known key.
func ExampleParse() {
	const yaml = `metrics:
  counters:
    - name: timer_starts_total
      help: Timers started
      lables: []
`
	_, err := config.Parse(strings.NewReader(yaml), "examples/timers.yaml")
	fmt.Println(err)
	// Output:
	// examples/timers.yaml:5: unknown field "lables" in a counter (did you mean "labels"?); known fields: name, help, perf_event_array, flush_interval, labels, max_series
}
