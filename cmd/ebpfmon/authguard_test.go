package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"
)

// TestAuthGuard: one request with unproven credentials per client host
// at a time; credentials that passed skip the limit. The toolkit's
// password check is played by a handler that holds requests until told.
func TestAuthGuard(t *testing.T) {
	g := newAuthGuard()
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	var inner http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	// The stand-in for the toolkit: holds user "slow", refuses "bad",
	// passes the others (and requests without credentials).
	check := g.inner(inner)
	h := g.outer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _, _ := r.BasicAuth()
		switch user {
		case "slow":
			entered <- struct{}{}
			<-release
			http.Error(w, "no", http.StatusUnauthorized)
		case "bad":
			http.Error(w, "no", http.StatusUnauthorized)
		default:
			check.ServeHTTP(w, r)
		}
	}))
	do := func(host, user string) int {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		r.RemoteAddr = host + ":1234"
		if user != "" {
			r.SetBasicAuth(user, "pw")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	if code := do("10.0.0.1", "good"); code != http.StatusOK { // proven from now on
		t.Fatalf("good first: %d, want 200", code)
	}
	var wg sync.WaitGroup
	wg.Go(func() { do("10.0.0.9", "slow") }) // holds 10.0.0.9's slot
	<-entered
	for _, tc := range []struct {
		name, host, user string
		want             int
	}{
		{"same host, new credentials", "10.0.0.9", "other", http.StatusTooManyRequests},
		{"same host, wrong password again", "10.0.0.9", "bad", http.StatusTooManyRequests},
		{"same host, proven credentials", "10.0.0.9", "good", http.StatusOK},
		{"same host, no credentials (the check refuses them at once)", "10.0.0.9", "", http.StatusOK},
		{"another host, wrong password", "10.0.0.2", "bad", http.StatusUnauthorized},
		{"another host, new credentials", "10.0.0.3", "fresh", http.StatusOK},
		{"another host, proven credentials", "10.0.0.1", "good", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := do(tc.host, tc.user); code != tc.want {
				t.Fatalf("%d, want %d", code, tc.want)
			}
		})
	}
	close(release)
	wg.Wait()
	if code := do("10.0.0.9", "bad"); code != http.StatusUnauthorized {
		t.Fatalf("after the slow check ended: %d, want 401 (the slot freed)", code)
	}
	if len(g.pending) != 0 {
		t.Fatalf("slots still held: %v", g.pending)
	}
}

// TestAuthGuardServing: with the real toolkit, a client sending wrong
// passwords in parallel is answered 429 beyond its one check in flight,
// instead of queueing bcrypt checks in front of everyone else's, and a
// good client is served meanwhile.
func TestAuthGuardServing(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("right"), 11) // about 0.1 s a check
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(path, []byte("basic_auth_users:\n  prometheus: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := prometheus.NewRegistry()
	g.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "web_test_up", Help: "1."}, func() float64 { return 1 }))
	addr := startWebConfig(t, g, testOptions(), path).addr
	good := scrape{scheme: "http", user: "prometheus", pass: "right"}
	if status, _, err := good.get(addr, nil); err != nil || status != http.StatusOK {
		t.Fatalf("good client: %d %v, want 200", status, err)
	}
	const clients = 8
	codes := make(chan int, clients)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			<-start
			status, _, err := scrape{scheme: "http", user: "prometheus", pass: "wrong" + string(rune('a'+i))}.get(addr, nil)
			if err != nil {
				t.Error(err)
			}
			codes <- status
		})
	}
	close(start)
	if status, _, err := good.get(addr, nil); err != nil || status != http.StatusOK {
		t.Errorf("good client during the flood: %d %v, want 200", status, err)
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[http.StatusTooManyRequests] == 0 || count[http.StatusOK] != 0 || count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != clients {
		t.Fatalf("statuses %v, want only 401 and 429, some 429 (one check at a time from one host)", count)
	}
}
