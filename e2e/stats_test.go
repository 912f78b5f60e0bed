package e2e

import (
	"os"
	"strings"
	"testing"
)

const bpfStatsSysctl = "/proc/sys/kernel/bpf_stats_enabled"

// TestProgramRunStats turns kernel.bpf_stats_enabled on and checks the run
// count and run time of a busy program are exported and grow; with it off
// they must not be exported.
func TestProgramRunStats(t *testing.T) {
	in := start(t, "--config.dir="+examplesDir, "--config.names=timers")
	match := map[string]string{"config": "timers", "program": "timer_start"}
	old, err := os.ReadFile(bpfStatsSysctl)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(old)) == "0" {
		if ms := in.scrape(t); len(ms.series("ebpfmon_ebpf_program_run_count_total", nil)) > 0 {
			t.Error("run counts exported while kernel.bpf_stats_enabled=0")
		}
	}
	setStats(t, "1")
	t.Cleanup(func() { setStats(t, strings.TrimSpace(string(old))) })

	first := in.eventually(t, "run count of timer_start", func() { tcpRoundTrip(t, "127.0.0.1") }, func(ms metrics) bool {
		return ms.sum("ebpfmon_ebpf_program_run_count_total", match) > 0
	})
	in.eventually(t, "run count and run time growing", func() { tcpRoundTrip(t, "127.0.0.1") }, func(ms metrics) bool {
		return ms.sum("ebpfmon_ebpf_program_run_count_total", match) > first.sum("ebpfmon_ebpf_program_run_count_total", match) &&
			ms.sum("ebpfmon_ebpf_program_run_time_seconds_total", match) > first.sum("ebpfmon_ebpf_program_run_time_seconds_total", match)
	})
}

func setStats(t *testing.T, v string) {
	t.Helper()
	if err := os.WriteFile(bpfStatsSysctl, []byte(v), 0o644); err != nil {
		t.Fatalf("set kernel.bpf_stats_enabled=%s: %v", v, err)
	}
}
