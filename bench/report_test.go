package main

import (
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []int64
		want int64
	}{
		{"one", []int64{7}, 7},
		{"odd", []int64{9, 1, 5}, 5},
		{"even", []int64{4, 1, 3, 2}, 2},
		{"outlier", []int64{1, 1, 1000}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := median(tc.in); got != tc.want {
				t.Fatalf("median(%v) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	samples := []sample{
		{CPU: 3 * time.Millisecond, Wall: 9 * time.Millisecond, Bytes: 10, Mem: memory{RSS: 1, HWM: 5}},
		{CPU: 1 * time.Millisecond, Wall: 7 * time.Millisecond, Bytes: 30, Mem: memory{RSS: 2, HWM: 6}},
		{CPU: 2 * time.Millisecond, Wall: 8 * time.Millisecond, Bytes: 20, Mem: memory{RSS: 3, HWM: 7}},
	}
	want := summary{CPU: 2 * time.Millisecond, Wall: 8 * time.Millisecond, Bytes: 20, RSS: 3, HWM: 7}
	if got := summarize(samples); got != want {
		t.Fatalf("summarize = %+v, want %+v", got, want)
	}
}

func TestWriteTable(t *testing.T) {
	r := result{Case: "counters", Keys: 1000, Samples: 1000, Fill: time.Millisecond,
		Plain: summary{CPU: 4 * time.Millisecond, Wall: 5 * time.Millisecond, Bytes: 2048},
		Gzip:  summary{CPU: 6 * time.Millisecond, Wall: 7 * time.Millisecond, Bytes: 1024, RSS: 3 << 20, HWM: 4 << 20}}
	var b strings.Builder
	writeTable(&b, 20, []result{r}, &startup{Configs: 3, Time: 40 * time.Millisecond, Idle: memory{RSS: 14 << 20, HWM: 15 << 20}})
	for _, want := range []string{
		"Medians over 20 scrapes",
		"| counters | 1000 | 1000 | 1.0 | 4.0 | 5.0 | 2 | 6.0 | 7.0 | 1 | 3.0 | 4.0 | 4.00 |",
		"(3 configs loaded): startup (exec to the first 200 on /metrics, median) 40.0 ms; idle RSS 14.0 MiB, peak 15.0 MiB",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestCountSamples(t *testing.T) {
	body := []byte("# HELP ebpfmon_bench_x x\n# TYPE ebpfmon_bench_x counter\nebpfmon_bench_x{a=\"1\"} 1\nebpfmon_bench_x{a=\"2\"} 2\nebpfmon_up 1\n")
	if got := countSamples(body, "ebpfmon_bench_"); got != 2 {
		t.Fatalf("countSamples = %d, want 2", got)
	}
	loaded := "ebpfmon_config_loaded{config=\"a\"} 1\nebpfmon_config_loaded{config=\"b\"} 0\n"
	if got := countLoaded([]byte(loaded)); got != 1 {
		t.Fatalf("countLoaded = %d, want 1", got)
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"defaults", nil, true},
		{"keys", []string{"-keys=1,2"}, true},
		{"bad keys", []string{"-keys=1,x"}, false},
		{"zero keys", []string{"-keys=0"}, false},
		{"bad case", []string{"-cases=gauges"}, false},
		{"no scrapes", []string{"-scrapes=0"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(tc.args)
			if (err == nil) != tc.ok {
				t.Fatalf("parseFlags(%v) err = %v, want ok %v", tc.args, err, tc.ok)
			}
		})
	}
}
