package exporter

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
	"github.com/ebpfmon/ebpfmon/lifecycle"
)

// loadExamples opens the named bundled examples in one exporter.
func loadExamples(t *testing.T, names ...string) *Exporter {
	t.Helper()
	testenv.Privileged(t)
	for _, n := range names {
		if _, err := os.Stat(filepath.Join("../examples", n+".bpf.o")); err != nil {
			t.Fatalf("examples/%s.bpf.o missing: run `make examples` first (make test does)", n)
		}
	}
	exp := New(lifecycle.Options{Namespace: "ebpfmon", Env: decoder.NewEnv(), Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	t.Cleanup(exp.Close)
	if res := exp.Reload(context.Background(), []Source{{Dir: "../examples", Names: names}}, ReloadOptions{Initial: true}); !res.OK() {
		t.Fatalf("load %v: %v %v", names, res.Err, res.Failed)
	}
	return exp
}

// TestParallelScrapes scrapes from many goroutines at once (run under -race
// by make test): every scrape must succeed and hold the example's series.
func TestParallelScrapes(t *testing.T) {
	exp := loadExamples(t, "timers", "syscalls")
	reg := prometheus.NewRegistry()
	reg.MustRegister(exp)
	srv := httptest.NewServer(promhttp.HandlerFor(exp.Gatherer(reg), promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	defer srv.Close()

	const workers, scrapes = 8, 15
	var wg sync.WaitGroup
	errs := make(chan string, workers*scrapes)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range scrapes {
				resp, err := http.Get(srv.URL)
				if err != nil {
					errs <- err.Error()
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- resp.Status + ": " + string(body)
					continue
				}
				for _, want := range []string{`ebpfmon_scrape_success{config="timers"} 1`, `ebpfmon_scrape_success{config="syscalls"} 1`, "ebpfmon_timer_starts_total{"} {
					if !strings.Contains(string(body), want) {
						errs <- "scrape lacks " + want
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
