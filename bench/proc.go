package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// memory is a process's resident set now and at its peak.
type memory struct {
	RSS, HWM int64 // bytes
}

// parseStatus reads VmRSS and VmHWM (in kB) from /proc/PID/status text.
func parseStatus(text string) (memory, error) {
	var m memory
	found := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return memory{}, fmt.Errorf("status line %q: want \"%s: N kB\"", sc.Text(), name)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb < 0 {
			return memory{}, fmt.Errorf("status line %q: bad size", sc.Text())
		}
		if name == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.HWM = kb << 10
		}
		found++
	}
	if found != 2 {
		return memory{}, fmt.Errorf("status: want VmRSS and VmHWM, found %d of them", found)
	}
	return m, nil
}

// parseSchedstat returns the first field of a schedstat line: the time on
// CPU in nanoseconds.
func parseSchedstat(text string) (time.Duration, error) {
	fields := strings.Fields(text)
	if len(fields) != 3 {
		return 0, fmt.Errorf("schedstat %q: want 3 fields", text)
	}
	ns, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil || ns < 0 {
		return 0, fmt.Errorf("schedstat %q: bad run time", text)
	}
	return time.Duration(ns), nil
}

// readMemory reads pid's VmRSS and VmHWM.
func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, fmt.Errorf("read memory: %w", err)
	}
	return parseStatus(string(b))
}

// readCPU sums the time on CPU of every thread of pid. Threads that have
// exited are not counted: Go keeps its threads, so a scrape's delta is
// exact as long as none exits in between.
func readCPU(pid int) (time.Duration, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("read cpu: no threads for pid %d", pid)
	}
	var total time.Duration
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited since the glob
		}
		d, err := parseSchedstat(string(b))
		if err != nil {
			return 0, fmt.Errorf("read cpu: %s: %w", p, err)
		}
		total += d
	}
	return total, nil
}
