package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestLifecycleRoutes checks /-/healthy, /-/ready before and after the
// configs are loaded, and what /-/reload refuses without reloading: a
// disabled API (403, as Prometheus) and methods other than POST and PUT
// (405).
func TestLifecycleRoutes(t *testing.T) {
	for _, tc := range []struct {
		name          string
		f             flags
		ready         bool
		method, path  string
		status        int
		body, allowed string
	}{
		{name: "healthy", method: "GET", path: "/-/healthy", status: 200, body: "Healthy"},
		{name: "not ready", method: "GET", path: "/-/ready", status: 503},
		{name: "ready", ready: true, method: "GET", path: "/-/ready", status: 200, body: "Ready"},
		{name: "lifecycle off", f: flags{reload: true}, method: "POST", path: "/-/reload", status: 403, body: "--web.enable-lifecycle"},
		{name: "reload off", f: flags{enableLifecycle: true}, method: "POST", path: "/-/reload", status: 403, body: "--no-config.reload"},
		{name: "GET reload", f: flags{reload: true, enableLifecycle: true}, method: "GET", path: "/-/reload", status: 405, allowed: "POST, PUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mux := http.NewServeMux()
			var ready atomic.Bool
			ready.Store(tc.ready)
			lifecycleRoutes(context.Background(), mux, &tc.f, nil, &ready)
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.body) || w.Header().Get("Allow") != tc.allowed {
				t.Errorf("%s %s: %d %q (Allow %q), want %d with %q (Allow %q)", tc.method, tc.path, w.Code, w.Body.String(), w.Header().Get("Allow"), tc.status, tc.body, tc.allowed)
			}
		})
	}
}

// TestWatchDir swaps a ConfigMap-like ..data symlink and edits a plain
// file: each burst of changes is reported once, after the quiet time.
func TestWatchDir(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const quiet = 50 * time.Millisecond
	changes, err := watchDir(ctx, dir, quiet, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	expect := func(what string) {
		t.Helper()
		select {
		case <-changes:
		case <-time.After(bound):
			t.Fatalf("%s: no change reported", what)
		}
		select {
		case <-changes:
			t.Fatalf("%s: reported twice", what)
		case <-time.After(5 * quiet):
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(dir, "..v1"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "..v1", "a.yaml"), []byte("a"), 0o644))
	must(os.Symlink("..v1", filepath.Join(dir, "..data_tmp")))
	must(os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	must(os.Symlink("..data/a.yaml", filepath.Join(dir, "a.yaml")))
	expect("first version")

	must(os.Mkdir(filepath.Join(dir, "..v2"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "..v2", "a.yaml"), []byte("b"), 0o644))
	must(os.Symlink("..v2", filepath.Join(dir, "..data_tmp")))
	must(os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	must(os.RemoveAll(filepath.Join(dir, "..v1")))
	expect("..data swap")

	must(os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("plain"), 0o644))
	expect("plain file")

	cancel()
	select {
	case _, ok := <-changes:
		if ok {
			t.Fatal("a change reported after the watch ended")
		}
	case <-time.After(5 * quiet):
	}
}

// TestWatchDirReplaced: a config directory deleted, or moved away, and
// made again is watched again: its return is reported, and so are the
// changes in it after; nothing is reported while it is gone, nor for
// changes in the directory moved away.
func TestWatchDirReplaced(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "configs")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(dir, 0o755))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const quiet = 50 * time.Millisecond
	changes, err := watchDir(ctx, dir, quiet, slog.New(slog.DiscardHandler))
	must(err)
	expect := func(what string, want bool) {
		t.Helper()
		wait := bound
		if !want {
			wait = 10 * quiet
		}
		select {
		case <-changes:
			if !want {
				t.Fatalf("%s: a change reported", what)
			}
		case <-time.After(wait):
			if want {
				t.Fatalf("%s: no change reported", what)
			}
		}
	}
	must(os.RemoveAll(dir))
	expect("directory deleted", false)
	must(os.Mkdir(dir, 0o755))
	expect("directory made again", true)
	must(os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("a"), 0o644))
	expect("file in the new directory", true)

	must(os.Rename(dir, dir+".old"))
	must(os.Mkdir(dir, 0o755))
	expect("directory moved away and made again", true)
	must(os.WriteFile(filepath.Join(dir+".old", "b.yaml"), []byte("b"), 0o644))
	expect("file in the directory moved away", false)
	must(os.WriteFile(filepath.Join(dir, "c.yaml"), []byte("c"), 0o644))
	expect("file in the new directory", true)
}
