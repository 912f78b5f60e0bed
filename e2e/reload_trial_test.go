package e2e

import (
	"errors"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// TestReloadTrialMetricsSwap: two configs trade their files (so their
// metrics) in one change of --config.dir; the watch's reload applies both.
// Checked one at a time against the running versions, each clashed with
// the other's old version at every reload, and the two old versions ran
// until a restart.
func TestReloadTrialMetricsSwap(t *testing.T) {
	testenv.Privileged(t)
	dir := t.TempDir()
	reloadDir(t, dir, "exec", "timers")
	in := start(t, "--config.dir="+dir)
	in.eventually(t, "both loaded", nil, func(ms metrics) bool {
		return ms.sum("ebpfmon_config_loaded", nil) == 2
	})
	for _, ext := range []string{".yaml", ".bpf.o"} {
		writeFile(t, filepath.Join(dir, "exec"+ext), readFile(t, filepath.Join(examplesDir, "timers"+ext)))
		writeFile(t, filepath.Join(dir, "timers"+ext), readFile(t, filepath.Join(examplesDir, "exec"+ext)))
	}
	execProgs, timersProgs := programsOf(t, "exec"), programsOf(t, "timers")
	after := in.eventually(t, "the configs' programs swapped", nil, func(ms metrics) bool {
		return slices.Equal(slices.Sorted(maps.Keys(programIDs(ms, "timers"))), execProgs) &&
			slices.Equal(slices.Sorted(maps.Keys(programIDs(ms, "exec"))), timersProgs)
	})
	if v := after.sum("ebpfmon_config_last_reload_successful", nil); v != 1 {
		t.Errorf("config_last_reload_successful = %v after the swap, want 1", v)
	}
}

// TestReloadTrialDirReplaced: --config.dir deleted, then made again with
// other configs (a deploy tool replacing the whole directory): the watch
// finds it again and loads them, with no SIGHUP. While it is gone the
// configs keep running.
func TestReloadTrialDirReplaced(t *testing.T) {
	testenv.Privileged(t)
	dir := filepath.Join(t.TempDir(), "configs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	reloadDir(t, dir, "syscalls")
	in := start(t, "--config.dir="+dir)
	before := in.eventually(t, "syscalls counting", nil, func(ms metrics) bool { return ms.sum("ebpfmon_syscalls_total", nil) > 0 })
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	in.waitLog(t, "config directory deleted or moved")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	reloadDir(t, dir, "syscalls", "timers")
	after := in.eventually(t, "timers loaded from the new directory", nil, func(ms metrics) bool {
		return ms.sum("ebpfmon_config_loaded", map[string]string{"config": "timers"}) == 1
	})
	if !sameIDs(programIDs(before, "syscalls"), programIDs(after, "syscalls")) {
		t.Errorf("unchanged syscalls: programs %v before, %v after, want the same", programIDs(before, "syscalls"), programIDs(after, "syscalls"))
	}
	checkNeverDown(t, only(before, "ebpfmon_syscalls_total"), after)
}

// TestReloadTrialSIGTERMDuringReloads: SIGTERM while POST /-/reload and
// SIGHUP reload a changing config in a loop: ebpfmon exits 0 at once and
// leaves none of its programs in the kernel. A SIGHUP sent once ebpfmon
// had released its signals used to kill it ("signal: hangup"); see
// TestSIGHUPAfterStop for the deterministic check.
func TestReloadTrialSIGTERMDuringReloads(t *testing.T) {
	testenv.Privileged(t)
	dir := t.TempDir()
	reloadDir(t, dir, "syscalls", "timers", "softirqs")
	in := start(t, "--config.dir="+dir, "--web.enable-lifecycle")
	orig := readFile(t, filepath.Join(dir, "timers.yaml"))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ids []string // every program id a scrape showed
	wg.Add(1)
	go func() {
		defer wg.Done()
		client := &http.Client{Timeout: 30 * time.Second}
		for i := range 300 { // until SIGTERM; bounded
			select {
			case <-stop:
				return
			default:
			}
			if err := os.WriteFile(filepath.Join(dir, "timers.yaml"), []byte(orig+strings.Repeat("#\n", i%7+1)), 0o644); err != nil {
				t.Error(err)
				return
			}
			_ = in.cmd.Process.Signal(syscall.SIGHUP)
			if resp, err := client.Post(in.url+"/-/reload", "", nil); err == nil {
				resp.Body.Close()
			}
			if ms, err := scrapeOnce(client, in.url); err == nil {
				mu.Lock()
				for _, m := range ms.series("ebpfmon_ebpf_program_info", nil) {
					ids = append(ids, labelValue(m, "id"))
				}
				mu.Unlock()
			}
		}
	}()
	in.eventually(t, "reloads done", nil, func(ms metrics) bool {
		return ms.sum("ebpfmon_config_reloads_total", nil) >= 5
	})
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := in.wait(t)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("exit after SIGTERM during reloads: %v\n%s", err, in.logText())
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range slices.Compact(slices.Sorted(slices.Values(ids))) {
		n, err := strconv.ParseUint(id, 10, 32)
		if err != nil {
			t.Fatalf("program id %q: %v", id, err)
		}
		p, err := ebpf.NewProgramFromID(ebpf.ProgramID(n))
		if err == nil {
			info, _ := p.Info()
			p.Close()
			t.Errorf("program %d (%+v) of ebpfmon still loaded after it exited (ids are not reused)", n, info)
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("program %d: %v", n, err)
		}
	}
	t.Logf("%d program ids seen, none left", len(ids))
}

// scrapeOnce fetches and parses /metrics, for goroutines that cannot
// fail the test.
func scrapeOnce(client *http.Client, url string) (metrics, error) {
	resp, err := client.Get(url + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	return metrics(fams), err
}
