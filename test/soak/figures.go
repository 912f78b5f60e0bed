package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// proc is what /proc says of a process.
type proc struct {
	rssKiB, hwmKiB int64 // VmRSS, VmHWM
	threads        int64
	fds            int64 // entries of /proc/PID/fd
	state          string
}

// readProc reads /proc/PID/status and counts /proc/PID/fd. A process that
// is gone or a zombie is an error: ebpfmon died.
func readProc(pid int) (proc, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return proc{}, fmt.Errorf("process %d: %w (it died)", pid, err)
	}
	defer f.Close()
	p, err := parseStatus(f)
	if err != nil {
		return proc{}, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	if strings.HasPrefix(p.state, "Z") || strings.HasPrefix(p.state, "X") {
		return proc{}, fmt.Errorf("process %d is dead (state %s)", pid, p.state)
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return proc{}, fmt.Errorf("process %d: fds: %w", pid, err)
	}
	p.fds = int64(len(fds))
	return p, nil
}

// parseStatus reads the fields of /proc/PID/status the soak reports. Each
// of VmRSS, VmHWM and Threads must be there (a kernel thread or zombie
// has no Vm* lines: an error).
func parseStatus(r io.Reader) (proc, error) {
	var p proc
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if key == "State" && len(fields) > 0 {
			p.state = fields[0]
			continue
		}
		dst := map[string]*int64{"VmRSS": &p.rssKiB, "VmHWM": &p.hwmKiB, "Threads": &p.threads}[key]
		if dst == nil || len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return proc{}, fmt.Errorf("%s: %q is not a number", key, fields[0])
		}
		*dst, seen[key] = n, true
	}
	if err := sc.Err(); err != nil {
		return proc{}, err
	}
	if p.state == "" || strings.HasPrefix(p.state, "Z") || strings.HasPrefix(p.state, "X") {
		return p, nil // dead: readProc says so
	}
	for _, k := range []string{"VmRSS", "VmHWM", "Threads"} {
		if !seen[k] {
			return proc{}, fmt.Errorf("no %s line", k)
		}
	}
	return p, nil
}

// row is one line of the figures table.
type row struct {
	at         time.Duration
	p          proc
	goroutines float64 // go_goroutines
	openFDs    float64 // process_open_fds
	series     int     // samples in the last scrape
	scrapes    int
	reloads    int
	scrapeMax  time.Duration // slowest scrape since the last row
}

// header is the figures table's header.
const header = "     t   VmRSS MiB   VmHWM MiB   fds  open_fds  goroutines  threads  samples  scrapes  reloads  slowest scrape"

// String formats r under header.
func (r row) String() string {
	return fmt.Sprintf("%6s  %10.1f  %10.1f  %4d  %8.0f  %10.0f  %7d  %7d  %7d  %7d  %14s",
		r.at.Round(time.Second), float64(r.p.rssKiB)/1024, float64(r.p.hwmKiB)/1024, r.p.fds,
		r.openFDs, r.goroutines, r.p.threads, r.series, r.scrapes, r.reloads, r.scrapeMax.Round(time.Millisecond))
}

// samples counts the samples of fams (a histogram's buckets, sum and count
// each one), as Prometheus's scrape_samples_scraped does.
func samples(fams families) int {
	n := 0
	for _, mf := range fams {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetHistogram() != nil:
				n += len(m.GetHistogram().GetBucket()) + 3 // + the +Inf bucket, sum, count
			case m.GetSummary() != nil:
				n += len(m.GetSummary().GetQuantile()) + 2
			default:
				n++
			}
		}
	}
	return n
}
