package main

import (
	"context"
	"crypto/sha256"
	"net"
	"net/http"
	"sync"
)

// maxGoodCredentials bounds the credentials authGuard remembers; when it
// is full it forgets them all (a scraper uses one or two).
const maxGoodCredentials = 64

// authGuard keeps clients sending wrong passwords from starving the
// scrapes of good ones. exporter-toolkit checks each user and password
// it has not seen (or whose entry its 100-entry cache dropped) with
// bcrypt, one check at a time for the whole server, for unknown users
// too: 50 clients sending new passwords made a good scrape wait 3 s
// behind their checks (cost 10, 2 cores), and it grows with the number
// of clients. The guard lets each client host have one request with
// unproven credentials at a time (the others get 429 at once), and lets
// credentials that passed before through without that limit; the
// toolkit still checks every request.
type authGuard struct {
	mu      sync.Mutex
	pending map[string]bool   // client hosts with a request being checked
	good    map[[32]byte]bool // sha256 of the user and password of requests that passed
}

func newAuthGuard() *authGuard {
	return &authGuard{pending: map[string]bool{}, good: map[[32]byte]bool{}}
}

// authAttemptKey is the request context key of an *authAttempt.
type authAttemptKey struct{}

// authAttempt is one request with unproven credentials: it holds its
// host's slot until it passes the toolkit's check or ends.
type authAttempt struct {
	g    *authGuard
	key  [32]byte
	host string
	held bool // guarded by g.mu
}

// outer goes in front of the toolkit's handler (which checks the
// password), inner behind it (reached only by requests that passed).
func (g *authGuard) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok { // refused by the toolkit without a bcrypt check
			next.ServeHTTP(w, r)
			return
		}
		a := &authAttempt{g: g, key: sha256.Sum256([]byte(user + "\x00" + pass)), host: clientHost(r.RemoteAddr)}
		if !g.begin(a) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "this client's previous request is still being authenticated, try again later", http.StatusTooManyRequests)
			return
		}
		defer g.end(a)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), authAttemptKey{}, a)))
	})
}

// inner marks the credentials of the requests it sees as good.
func (g *authGuard) inner(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := r.Context().Value(authAttemptKey{}).(*authAttempt); ok {
			g.passed(a)
		}
		next.ServeHTTP(w, r)
	})
}

// begin reports whether a may go on: its credentials passed before, or
// it takes its host's free slot.
func (g *authGuard) begin(a *authAttempt) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.good[a.key] {
		return true
	}
	if g.pending[a.host] {
		return false
	}
	g.pending[a.host], a.held = true, true
	return true
}

// passed remembers a's credentials and frees its host's slot.
func (g *authGuard) passed(a *authAttempt) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.good[a.key] && len(g.good) >= maxGoodCredentials {
		clear(g.good)
	}
	g.good[a.key] = true
	g.release(a)
}

// end frees a's slot if it still holds it.
func (g *authGuard) end(a *authAttempt) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.release(a)
}

func (g *authGuard) release(a *authAttempt) {
	if a.held {
		delete(g.pending, a.host)
		a.held = false
	}
}

// clientHost is the host of a request's remote address (the whole
// address if it has no port, as for a unix socket).
func clientHost(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// guardAuth puts g around the handler exporter-toolkit gives srv: inner
// now, outer at the first connection, when the toolkit has wrapped
// srv.Handler with its password check (web.Serve does that before it
// serves).
func guardAuth(srv *http.Server, g *authGuard) {
	srv.Handler = g.inner(srv.Handler)
	var once sync.Once
	connContext := srv.ConnContext
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		once.Do(func() { srv.Handler = g.outer(srv.Handler) })
		if connContext != nil {
			return connContext(ctx, c)
		}
		return ctx
	}
}
