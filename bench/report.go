package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// result is one case's medians.
type result struct {
	Case    string // counters, histograms
	Keys    int    // map keys filled
	Samples int    // sample lines of the bench metric in a plain scrape
	Fill    time.Duration
	Plain   summary
	Gzip    summary
}

// summary is the medians of K scrapes, and the memory after the last.
type summary struct {
	CPU, Wall time.Duration
	Bytes     int64
	RSS, HWM  int64 // after the last scrape
}

// summarize takes the medians of samples (at least one).
func summarize(samples []sample) summary {
	cpu := make([]time.Duration, len(samples))
	wall := make([]time.Duration, len(samples))
	size := make([]int64, len(samples))
	for i, s := range samples {
		cpu[i], wall[i], size[i] = s.CPU, s.Wall, s.Bytes
	}
	last := samples[len(samples)-1].Mem
	return summary{CPU: median(cpu), Wall: median(wall), Bytes: median(size), RSS: last.RSS, HWM: last.HWM}
}

// median of xs (not empty); the mean of the middle two when even.
func median[T time.Duration | int64](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// startup is the every-example run's figures.
type startup struct {
	Configs int           // configs loaded
	Time    time.Duration // median exec to first 200
	Idle    memory        // after settling
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }
func mib(b int64) string        { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }
func kib(b int64) string        { return fmt.Sprintf("%.0f", float64(b)/(1<<10)) }

// writeTable writes the results as markdown tables.
func writeTable(w io.Writer, k int, results []result, st *startup) {
	fmt.Fprintf(w, "Medians over %d scrapes per encoding (plain and gzip alternating); RSS and peak RSS (VmHWM) after the last scrape. CPU: the ebpfmon process's time on CPU during the scrape (all its threads), fill: the getpid loop.\n\n", k)
	fmt.Fprintln(w, "| case | keys | samples | fill ms | CPU ms | wall ms | KiB | CPU ms gzip | wall ms gzip | KiB gzip | RSS MiB | peak MiB | CPU µs/key |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		perKey := 0.0
		if r.Keys > 0 {
			perKey = float64(r.Plain.CPU) / float64(time.Microsecond) / float64(r.Keys)
		}
		fmt.Fprintf(w, "| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.2f |\n",
			r.Case, r.Keys, r.Samples, ms(r.Fill), ms(r.Plain.CPU), ms(r.Plain.Wall), kib(r.Plain.Bytes),
			ms(r.Gzip.CPU), ms(r.Gzip.Wall), kib(r.Gzip.Bytes), mib(r.Gzip.RSS), mib(r.Gzip.HWM), perKey)
	}
	if st != nil {
		fmt.Fprintf(w, "\nEvery example (%d configs loaded): startup (exec to the first 200 on /metrics, median) %s ms; idle RSS %s MiB, peak %s MiB.\n",
			st.Configs, ms(st.Time), mib(st.Idle.RSS), mib(st.Idle.HWM))
	}
}
