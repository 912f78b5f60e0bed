package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/exporter"
	"github.com/ebpfmon/ebpfmon/lifecycle"
)

// hostile is a config name that is markup: /status must show it as text.
const hostile = `<img src=x onerror=alert(1)>`

// TestStatusPage serves /status, behind basic auth as /metrics is, for a
// config that failed to parse, whose name and error are markup: the page
// names it with its stage, file and fix, escaped; ?format=json says the
// same; the landing page links to it.
func TestStatusPage(t *testing.T) {
	dir := t.TempDir()
	yaml := "metrics:\n  counters:\n    - name: calls\n      help: x\n      <script>alert(2)</script>: 1\n"
	if err := os.WriteFile(filepath.Join(dir, hostile+".yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	exp := exporter.New(lifecycle.Options{Namespace: "ebpfmon"})
	t.Cleanup(exp.Close)
	if res := exp.Reload(context.Background(), []exporter.Source{{Dir: dir, Names: []string{hostile}}}, exporter.ReloadOptions{Initial: true}); len(res.Failed) != 1 {
		t.Fatalf("reload: %+v, want the config failed", res)
	}
	webConfig := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(webConfig, []byte("basic_auth_users:\n  prometheus: "+bcryptHash(t, "right")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := startStatusServer(t, exp, webConfig)
	for _, tc := range []struct {
		name, path, user string
		status           int
		want, not        []string
	}{
		{name: "no password", path: "/status", status: http.StatusUnauthorized, not: []string{"alert"}},
		{name: "json no password", path: "/status?format=json", status: http.StatusUnauthorized, not: []string{"alert"}},
		{name: "html", path: "/status", user: "prometheus", status: http.StatusOK,
			want: []string{"&lt;img src=x onerror=alert(1)&gt;", "failed", "parse stage", filepath.Join(dir, "&lt;img"), "unknown field", "&lt;script&gt;alert(2)&lt;/script&gt;", "known fields: name, help"},
			not:  []string{hostile, "<script>alert"}},
		{name: "landing page", path: "/", user: "prometheus", status: http.StatusOK, want: []string{`<a href="/status">Status</a>`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := getAs(t, "http://"+addr+tc.path, tc.user)
			if status != tc.status {
				t.Fatalf("status %d, want %d:\n%s", status, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(body, n) {
					t.Errorf("body has %q:\n%s", n, body)
				}
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		status, body := getAs(t, "http://"+addr+"/status?format=json", "prometheus")
		var got []exporter.ConfigStatus
		if err := json.Unmarshal([]byte(body), &got); err != nil || status != http.StatusOK {
			t.Fatalf("status %d, %v:\n%s", status, err, body)
		}
		if len(got) != 1 || got[0].Name != hostile || got[0].State != exporter.StateFailed || got[0].LoadedAt != nil {
			t.Fatalf("got %+v, want %q failed, not running", got, hostile)
		}
		le := got[0].LastError
		if le == nil || le.Stage != config.StageParse || le.File != filepath.Join(dir, hostile+".yaml") || !strings.Contains(le.Message, "known fields") {
			t.Errorf("last error %+v, want stage parse, the file and the fix", le)
		}
	})
}

// startStatusServer serves exp's routes as listen does, with webConfig.
func startStatusServer(t *testing.T, exp *exporter.Exporter, webConfig string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	f := &flags{telemetryPath: "/metrics"}
	opts := testOptions()
	mux := newMux(f, metricsHandler(exp.Gatherer(prometheus.NewRegistry()), opts, logger), exp, logger)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveHTTP(ctx, []*http.Server{newServer(mux, opts, logger)}, []net.Listener{ln}, webConfig, opts.shutdownGrace, logger)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ln.Addr().String()
}

// getAs GETs url, as user (password "right") unless user is empty.
func getAs(t *testing.T, url, user string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, "right")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
