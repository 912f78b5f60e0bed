package attach

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// perfEventSpec is what a perf_event/... section asks for.
type perfEventSpec struct {
	Type, Config uint64
	Frequency    uint64
	SamplePeriod uint64
}

// parsePerfEvent parses "type=T,config=C,frequency=F" or "...,sample_period=P".
func parsePerfEvent(target string) (perfEventSpec, error) {
	var spec perfEventSpec
	seen := map[string]bool{}
	for _, field := range strings.Split(target, ",") {
		key, val, ok := strings.Cut(field, "=")
		if !ok {
			return spec, fmt.Errorf("perf_event field %q: want KEY=VALUE", field)
		}
		n, err := strconv.ParseUint(val, 0, 64)
		if err != nil {
			return spec, fmt.Errorf("perf_event field %q: %w", field, err)
		}
		dst := map[string]*uint64{"type": &spec.Type, "config": &spec.Config, "frequency": &spec.Frequency, "sample_period": &spec.SamplePeriod}[key]
		if dst == nil {
			return spec, fmt.Errorf("perf_event field %q: unknown key, want type, config, frequency or sample_period", field)
		}
		*dst = n
		seen[key] = true
	}
	if spec.Type > math.MaxUint32 {
		return spec, fmt.Errorf("perf_event type=%d: out of range", spec.Type)
	}
	if !seen["type"] || !seen["config"] {
		return spec, fmt.Errorf("perf_event %q: type= and config= are required", target)
	}
	if (spec.Frequency == 0) == (spec.SamplePeriod == 0) {
		return spec, fmt.Errorf("perf_event %q: give exactly one of frequency= or sample_period= (non-zero)", target)
	}
	return spec, nil
}

func checkPerfEvent(target string) error {
	_, err := parsePerfEvent(target)
	return err
}

// perfEvent opens the event on every online CPU and attaches prog to each.
func perfEvent(target string, prog *ebpf.Program, _ Options) (io.Closer, error) {
	spec, err := parsePerfEvent(target)
	if err != nil {
		return nil, err
	}
	cpus, err := onlineCPUs()
	if err != nil {
		return nil, err
	}
	var cs closers
	for _, cpu := range cpus {
		c, err := perfEventOnCPU(spec, cpu, prog)
		if err != nil {
			_ = cs.Close()
			return nil, fmt.Errorf("cpu %d: %w", cpu, err)
		}
		cs = append(cs, c)
	}
	return cs, nil
}

func perfEventOnCPU(spec perfEventSpec, cpu int, prog *ebpf.Program) (io.Closer, error) {
	attr := unix.PerfEventAttr{
		Type:   uint32(spec.Type),
		Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Config: spec.Config,
		Sample: spec.SamplePeriod,
	}
	if spec.Frequency != 0 {
		attr.Sample = spec.Frequency
		attr.Bits |= unix.PerfBitFreq
	}
	fd, err := unix.PerfEventOpen(&attr, -1, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) {
			return nil, fmt.Errorf("perf event type=%d config=%d: %w (no such counter; VMs often lack hardware events, use type=1 software events): %w", spec.Type, spec.Config, ErrHookMissing, err)
		}
		return nil, fmt.Errorf("perf_event_open: %w", err)
	}
	event := os.NewFile(uintptr(fd), "perf_event")
	l, linkErr := link.AttachRawLink(link.RawLinkOptions{Target: fd, Program: prog, Attach: ebpf.AttachPerfEvent})
	if linkErr == nil {
		return closers{event, l}, nil
	}
	// Before Linux 5.15 there are no perf_event links: use the ioctl.
	if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_SET_BPF, prog.FD()); err != nil {
		event.Close()
		return nil, fmt.Errorf("attach to perf event: link: %w; ioctl: %w", linkErr, err)
	}
	if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_ENABLE, 0); err != nil {
		event.Close()
		return nil, fmt.Errorf("enable perf event: %w", err)
	}
	return event, nil
}

// onlineCPUs parses /sys/devices/system/cpu/online ("0-3,5").
func onlineCPUs() ([]int, error) {
	raw, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil, fmt.Errorf("online cpus: %w", err)
	}
	return parseCPUList(strings.TrimSpace(string(raw)))
}

func parseCPUList(s string) ([]int, error) {
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("cpu list %q: %w", s, err)
		}
		last := first
		if isRange {
			if last, err = strconv.Atoi(hi); err != nil || last < first {
				return nil, fmt.Errorf("cpu list %q: bad range %q", s, part)
			}
		}
		for c := first; c <= last; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}
