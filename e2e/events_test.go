package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// exerciseProcevents checks the procevents example: execs counted from ring
// buffer records, exits by signal from perf event array records.
func exerciseProcevents(t *testing.T, in *instance, before metrics) metrics {
	ms := in.eventually(t, "exec of true and a SIGKILL", func() {
		if err := exec.Command("true").Run(); err != nil {
			t.Fatal(err)
		}
		killedBySignal(t)
	}, func(ms metrics) bool {
		return ms.sum("ebpfmon_exec_events_total", map[string]string{"comm": "true"}) > before.sum("ebpfmon_exec_events_total", map[string]string{"comm": "true"}) &&
			ms.sum("ebpfmon_signal_exits_total", map[string]string{"signal": "SIGKILL"}) > before.sum("ebpfmon_signal_exits_total", map[string]string{"signal": "SIGKILL"})
	})
	for _, name := range []string{"exec_events_total", "signal_exits_total"} {
		if v := ms.sum("ebpfmon_events_lost_total", map[string]string{"config": "procevents", "map": name}); v != 0 {
			t.Errorf("%s: %v records lost", name, v)
		}
		if n := len(ms.series("ebpfmon_events_lost_total", map[string]string{"map": name})); n != 1 {
			t.Errorf("%s: events_lost_total has %d series, want 1", name, n)
		}
	}
	return ms
}

// killedBySignal runs a shell that SIGKILLs itself: one exit by signal.
func killedBySignal(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := exec.CommandContext(ctx, "sh", "-c", "kill -9 $$").Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("sh did not die by SIGKILL: %v", err)
	}
}

// eventsDir copies the procevents example with its YAML edited by edit.
func eventsDir(t *testing.T, edit func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	obj, err := os.ReadFile(filepath.Join(examplesDir, "procevents.bpf.o"))
	if err != nil {
		t.Fatalf("examples/procevents.bpf.o: %v (make examples)", err)
	}
	writeFile(t, filepath.Join(dir, "ev.bpf.o"), string(obj))
	writeFile(t, filepath.Join(dir, "ev.yaml"), edit(readFile(t, filepath.Join(examplesDir, "procevents.yaml"))))
	return dir
}

// TestEventRecordTooShort declares a comm label longer than the records:
// every exec record is a decode error, the other counter keeps working.
func TestEventRecordTooShort(t *testing.T) {
	dir := eventsDir(t, func(y string) string {
		return strings.Replace(y, "          size: 16\n", "          size: 32\n", 1)
	})
	in := start(t, "--config.dir="+dir, "--config.strict")
	ms := in.eventually(t, "decode errors for short records, SIGKILL still counted", func() {
		killedBySignal(t)
	}, func(ms metrics) bool {
		return ms.sum("ebpfmon_decoder_errors_total", map[string]string{"config": "ev"}) > 0 &&
			ms.sum("ebpfmon_signal_exits_total", map[string]string{"signal": "SIGKILL"}) > 0
	})
	if n := len(ms.series("ebpfmon_exec_events_total", nil)); n != 0 {
		t.Errorf("short records produced %d series", n)
	}
	if !strings.Contains(in.logText(), "record is 16 bytes, the labels need 32") {
		t.Errorf("log does not explain the short record:\n%s", in.logText())
	}
}

// TestEventFlush sets flush_interval to 1s: counts must start over, but
// only after a scrape has exported them, so that events between the last
// scrape and the flush are not lost.
func TestEventFlush(t *testing.T) {
	dir := eventsDir(t, func(y string) string { return strings.Replace(y, "flush_interval: 1h", "flush_interval: 1s", 1) })
	in := start(t, "--config.dir="+dir, "--config.strict")
	// A command name no other process uses, so nothing else counts under it.
	probe := filepath.Join(t.TempDir(), "ebpfmon-flush")
	bin, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(probe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	match := map[string]string{"comm": "ebpfmon-flush"}
	in.eventually(t, "exec of the probe counted", func() { _ = exec.Command(probe).Run() }, func(ms metrics) bool {
		return ms.sum("ebpfmon_exec_events_total", match) > 0
	})
	const pastInterval = 1100 * time.Millisecond
	time.Sleep(pastInterval)
	in.scrape(t) // exports the counts one last time, then starts them over
	if v := in.scrape(t).sum("ebpfmon_exec_events_total", match); v != 0 {
		t.Errorf("after the flush interval and a scrape the probe's count is still %v", v)
	}
	// One exec, then the interval passes before the next scrape: that
	// scrape must still export it.
	if err := exec.Command(probe).Run(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(pastInterval)
	ms := in.eventually(t, "the exec before the flush exported", nil, func(ms metrics) bool {
		return ms.sum("ebpfmon_exec_events_total", match) > 0 || ms.sum("ebpfmon_events_lost_total", map[string]string{"map": "exec_events_total"}) > 0
	})
	if v := ms.sum("ebpfmon_exec_events_total", match); v != 1 {
		t.Errorf("the scrape after the interval exported %v execs of the probe, want 1 (the flush must wait for a scrape)", v)
	}
}

// TestEventRingBufferLost overflows a real ring buffer: a burst of 4096
// records into a buffer that holds 256. The program counts the failed
// reservations (include/events.bpf.h), and every record must show either
// in the counts or in events_lost_total.
func TestEventRingBufferLost(t *testing.T) {
	const magic, burst = 0x7e57105, 4096 // as in testdata/ringlost.bpf.c
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ringlost.yaml"), readFile(t, "testdata/ringlost.yaml"))
	compileBPF(t, "ringlost", dir, "ringlost")
	in := start(t, "--config.dir="+dir, "--config.strict")
	_, _, _ = unix.Syscall(unix.SYS_GETPGID, magic, 0, 0) // ESRCH: only the burst matters
	lost := map[string]string{"config": "ringlost", "map": "burst_records_total"}
	ms := in.eventually(t, "every record of the burst counted or lost", nil, func(ms metrics) bool {
		return ms.sum("ebpfmon_burst_records_total", nil)+ms.sum("ebpfmon_events_lost_total", lost) >= burst
	})
	counted, dropped := ms.sum("ebpfmon_burst_records_total", nil), ms.sum("ebpfmon_events_lost_total", lost)
	t.Logf("burst of %d: %v counted, %v lost", burst, counted, dropped)
	if dropped == 0 || counted == 0 || counted+dropped != burst {
		t.Errorf("counted %v + lost %v, want %d with some of each (the buffer holds 256)", counted, dropped, burst)
	}
}
