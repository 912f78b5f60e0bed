package bpfmap

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// onlinePath lists the CPUs that are online now; per-CPU maps hold a value
// for every possible CPU (/sys/devices/system/cpu/possible), online or not.
const onlinePath = "/sys/devices/system/cpu/online"

// maxCPU bounds the CPU numbers ParseCPUList accepts (the kernel's NR_CPUS
// is at most 8192), so a bad list cannot make it allocate without bound.
const maxCPU = 1 << 16

// OnlineCPUs returns the numbers of the CPUs online now, ascending.
func OnlineCPUs() ([]int, error) {
	raw, err := os.ReadFile(onlinePath)
	if err != nil {
		return nil, fmt.Errorf("online cpus: %w", err)
	}
	cpus, err := ParseCPUList(string(raw))
	if err != nil {
		return nil, fmt.Errorf("online cpus: %s: %w", onlinePath, err)
	}
	return cpus, nil
}

// ParseCPUList parses the kernel's CPU list format, as in
// /sys/devices/system/cpu/online: comma-separated CPU numbers and
// inclusive ranges, ascending, such as "0-3,5,7-8" (a trailing newline is
// fine). It returns the CPU numbers, ascending.
func ParseCPUList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty cpu list")
	}
	var cpus []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, err := parseCPURange(part)
		if err != nil {
			return nil, err
		}
		if n := len(cpus); n > 0 && lo <= cpus[n-1] {
			return nil, fmt.Errorf("cpu list %q: %q is not above the cpus before it", s, part)
		}
		for c := lo; c <= hi; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// parseCPURange parses "N" or "N-M" (N <= M).
func parseCPURange(part string) (lo, hi int, err error) {
	first, last, isRange := strings.Cut(part, "-")
	if lo, err = parseCPU(first); err != nil {
		return 0, 0, err
	}
	hi = lo
	if isRange {
		if hi, err = parseCPU(last); err != nil {
			return 0, 0, err
		}
	}
	if hi < lo {
		return 0, 0, fmt.Errorf("cpu range %q goes down", part)
	}
	return lo, hi, nil
}

func parseCPU(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n >= maxCPU {
		return 0, fmt.Errorf("cpu %q is not a number below %d", s, maxCPU)
	}
	return int(n), nil
}
