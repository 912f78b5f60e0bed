package main

import (
	"fmt"
	"time"
)

// sample is one reading of the figures the bounds watch, taken once a
// second outside reloads (a reload holds two versions of a config).
type sample struct {
	at         time.Duration
	rssKiB     int64
	fds        int64
	goroutines float64
}

// bounds are the growth allowed between the first window of the run and
// the last one.
type bounds struct {
	rssKiB     int64
	fds        int64
	goroutines float64
	window     time.Duration
}

// growth compares the lowest reading of each figure in the first window
// (from the first sample) with the lowest in the last one (up to the last
// sample): the minimum of a window is where the garbage collector, open
// scrapes and reloads have let go of what they hold, so a leak raises it
// and a passing peak does not. It returns one line per figure and the
// figures beyond their bound. Fewer than two windows' worth of samples is
// an error.
func (b bounds) growth(s []sample) (report []string, over []string, err error) {
	if len(s) == 0 || s[len(s)-1].at-s[0].at < 2*b.window {
		return nil, nil, fmt.Errorf("%d samples: the run is shorter than two %s windows", len(s), b.window)
	}
	first := minima(s, s[0].at, s[0].at+b.window)
	last := minima(s, s[len(s)-1].at-b.window, s[len(s)-1].at+1)
	check := func(what string, from, to, bound float64, unit string) {
		line := fmt.Sprintf("%-10s lowest in the first %s %10.1f, in the last %10.1f: %+8.1f %s (bound %+.1f)",
			what, b.window, from, to, to-from, unit, bound)
		report = append(report, line)
		if to-from > bound {
			over = append(over, line)
		}
	}
	check("RSS", float64(first.rssKiB)/1024, float64(last.rssKiB)/1024, float64(b.rssKiB)/1024, "MiB")
	check("fds", float64(first.fds), float64(last.fds), float64(b.fds), "")
	check("goroutines", first.goroutines, last.goroutines, b.goroutines, "")
	return report, over, nil
}

// minima is the lowest of each figure over the samples in [from, to).
func minima(s []sample, from, to time.Duration) sample {
	var m sample
	first := true
	for _, x := range s {
		if x.at < from || x.at >= to {
			continue
		}
		if first {
			m, first = x, false
			continue
		}
		m.rssKiB = min(m.rssKiB, x.rssKiB)
		m.fds = min(m.fds, x.fds)
		m.goroutines = min(m.goroutines, x.goroutines)
	}
	return m
}
