package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// bound is how long a test waits for something that should happen at once
// or after a timeout of well under a second; only a defect makes it wait
// that long.
const bound = 30 * time.Second

// testOptions are limits that do not get in the way; each test tightens
// the one it is about.
func testOptions() webOptions {
	return webOptions{maxRequests: 40, scrapeTimeout: time.Minute, writeTimeout: 2 * time.Minute, idleTimeout: time.Minute, shutdownGrace: time.Minute}
}

// webServer is metricsHandler and newServer serving on 127.0.0.1, as
// listen sets them up.
type webServer struct {
	addr   string
	log    *lockedBuffer
	closed chan struct{} // one value per connection the server closed
	cancel context.CancelFunc
	done   chan error // serveHTTP's result
}

func startWeb(t *testing.T, g prometheus.Gatherer, opts webOptions) *webServer {
	t.Helper()
	return startWebConfig(t, g, opts, "")
}

// startWebConfig is startWeb with a --web.config.file.
func startWebConfig(t *testing.T, g prometheus.Gatherer, opts webOptions, webConfig string) *webServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ws := &webServer{addr: ln.Addr().String(), log: &lockedBuffer{}, closed: make(chan struct{}, 1000), done: make(chan error, 1)}
	logger := slog.New(slog.NewTextHandler(ws.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mux := newMux(&flags{telemetryPath: "/metrics"}, metricsHandler(g, opts, logger), nil, logger)
	srv := newServer(mux, opts, logger)
	srv.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			ws.closed <- struct{}{}
		}
	}
	var ctx context.Context
	ctx, ws.cancel = context.WithCancel(context.Background())
	go func() {
		ws.done <- serveHTTP(ctx, []*http.Server{srv}, []net.Listener{ln}, webConfig, opts.shutdownGrace, logger)
	}()
	t.Cleanup(func() {
		ws.cancel()
		<-ws.done
	})
	return ws
}

// waitClosed waits until the server has closed n connections.
func (ws *webServer) waitClosed(t *testing.T, n int, why string) {
	t.Helper()
	timeout := time.After(bound)
	for i := range n {
		select {
		case <-ws.closed:
		case <-timeout:
			t.Fatalf("%s: the server closed %d of %d connections in %s", why, i, n, bound)
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// bigGatherer returns families families of series gauges each, with long
// label values: a response of about families*series*150 bytes. entered
// gets a value at each gather when it is not nil.
func bigGatherer(families, series int, entered chan<- struct{}) prometheus.Gatherer {
	var mfs []*dto.MetricFamily
	pad := strings.Repeat("x", 100)
	for f := range families {
		mf := &dto.MetricFamily{Name: proto.String(fmt.Sprintf("family_%d", f)), Help: proto.String("h"), Type: dto.MetricType_GAUGE.Enum()}
		for s := range series {
			mf.Metric = append(mf.Metric, &dto.Metric{
				Label: []*dto.LabelPair{{Name: proto.String("l"), Value: proto.String(fmt.Sprintf("%s%d", pad, s))}},
				Gauge: &dto.Gauge{Value: proto.Float64(float64(s))},
			})
		}
		mfs = append(mfs, mf)
	}
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		if entered != nil {
			entered <- struct{}{}
		}
		return mfs, nil
	})
}

// blockingGatherer blocks every gather until release is closed; entered
// gets a value as each gather starts.
func blockingGatherer(entered chan<- struct{}, release <-chan struct{}) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		entered <- struct{}{}
		<-release
		return nil, nil
	})
}

// dialSmall connects with a tiny receive buffer, so that a response the
// client does not read soon fills the buffers and blocks the server.
func dialSmall(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func sendGet(t *testing.T, c net.Conn, path string) {
	t.Helper()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
}

// waitFor receives from ch, or fails the test after bound.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(bound):
		t.Fatalf("%s: not within %s", what, bound)
	}
}

// TestWebIdleConnectionsClosed: clients that made one request and then
// idle must not hold a connection (an fd and goroutines) for ever.
func TestWebIdleConnectionsClosed(t *testing.T) {
	opts := testOptions()
	opts.idleTimeout = 100 * time.Millisecond
	ws := startWeb(t, bigGatherer(1, 1, nil), opts)
	const clients = 50
	conns := make([]net.Conn, clients)
	for i := range conns {
		conns[i] = dialSmall(t, ws.addr)
		sendGet(t, conns[i], "/metrics")
		resp, err := http.ReadResponse(bufio.NewReader(conns[i]), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("status %d, close %v: want a kept-alive 200", resp.StatusCode, resp.Close)
		}
	}
	ws.waitClosed(t, clients, "idle clients")
}

// TestWebClientThatStopsReading: a client that requests a large response
// and never reads it must not hold the response (and its connection) for
// ever: the write times out and the connection is closed.
func TestWebClientThatStopsReading(t *testing.T) {
	opts := testOptions()
	opts.writeTimeout = 500 * time.Millisecond
	entered := make(chan struct{}, 10)
	ws := startWeb(t, bigGatherer(10, 10000, entered), opts) // about 15 MB, more than the socket buffers
	c := dialSmall(t, ws.addr)
	sendGet(t, c, "/metrics")
	waitFor(t, entered, "gather")
	ws.waitClosed(t, 1, "client that never reads")
}

// TestWebResetMidScrape: a client that resets its connection mid-scrape
// is one log line, not one per metric family, whether it leaves before
// the response is ready or while it is sent.
func TestWebResetMidScrape(t *testing.T) {
	for _, tc := range []struct {
		name string
		read int // bytes of the response read before the reset
	}{
		{"before the response", 0},
		{"while it is sent", 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entered := make(chan struct{}, 10)
			ws := startWeb(t, bigGatherer(100, 1000, entered), testOptions()) // 100 families, about 15 MB
			c := dialSmall(t, ws.addr)
			sendGet(t, c, "/metrics")
			waitFor(t, entered, "gather")
			if _, err := io.ReadFull(c, make([]byte, tc.read)); err != nil {
				t.Fatal(err)
			}
			if err := c.SetLinger(0); err != nil { // close sends a reset
				t.Fatal(err)
			}
			c.Close()
			ws.waitClosed(t, 1, "reset client")
			log := ws.log.String()
			if n := strings.Count(log, "\n") - strings.Count(log, "level=DEBUG"); n != 1 || !strings.Contains(log, `msg="scrape response not sent"`) {
				t.Errorf("log has %d lines above debug, want one saying the scrape response was not sent:\n%s", n, log)
			}
		})
	}
}

// TestWebMaxRequests: scrapes beyond --web.max-requests are answered 503 at
// once instead of queueing behind the ones in flight.
func TestWebMaxRequests(t *testing.T) {
	opts := testOptions()
	opts.maxRequests = 2
	entered, release := make(chan struct{}, 10), make(chan struct{})
	ws := startWeb(t, blockingGatherer(entered, release), opts)
	client := &http.Client{Timeout: bound}
	codes := make(chan int, opts.maxRequests)
	for range opts.maxRequests {
		go func() { codes <- getStatus(client, ws.addr) }()
		waitFor(t, entered, "scrape within the limit")
	}
	got := getStatus(client, ws.addr)
	close(release)
	if got != http.StatusServiceUnavailable {
		t.Errorf("scrape beyond the limit: status %d, want 503", got)
	}
	if log := ws.log.String(); strings.Count(log, "scrape refused: --web.max-requests") != 1 {
		t.Errorf("want one line about the 503:\n%s", log)
	}
	for range opts.maxRequests {
		if code := <-codes; code != http.StatusOK {
			t.Errorf("scrape within the limit: status %d, want 200", code)
		}
	}
}

// TestWebScrapeTimeout: a scrape that takes too long is answered 503.
func TestWebScrapeTimeout(t *testing.T) {
	opts := testOptions()
	opts.scrapeTimeout = 100 * time.Millisecond
	entered, release := make(chan struct{}, 10), make(chan struct{})
	defer close(release)
	ws := startWeb(t, blockingGatherer(entered, release), opts)
	if got := getStatus(&http.Client{Timeout: bound}, ws.addr); got != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", got)
	}
	if log := ws.log.String(); strings.Count(log, "scrape slower than --web.scrape-timeout") != 1 {
		t.Errorf("want one line about the 503:\n%s", log)
	}
}

// TestWebShutdownWithStuckRequest: shutdown finishes, without an error,
// while a request is stuck in flight.
func TestWebShutdownWithStuckRequest(t *testing.T) {
	opts := testOptions()
	opts.shutdownGrace = 100 * time.Millisecond
	entered, release := make(chan struct{}, 10), make(chan struct{})
	defer close(release)
	ws := startWeb(t, blockingGatherer(entered, release), opts)
	go getStatus(&http.Client{Timeout: bound}, ws.addr)
	waitFor(t, entered, "scrape")
	ws.cancel()
	select {
	case err := <-ws.done:
		ws.done <- err // for the cleanup
		if err != nil {
			t.Errorf("serveHTTP = %v, want nil", err)
		}
	case <-time.After(bound):
		t.Fatalf("shutdown still waiting after %s", bound)
	}
}

// getStatus scrapes /metrics and returns the status, or -1 on an error.
func getStatus(client *http.Client, addr string) int {
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestLimitRequestsOneAtATime: with a limit of 1 (the debug dump's),
// while one request is served another gets 503 at once, instead of
// building a second dump in memory; once it ends, the next is served.
func TestLimitRequestsOneAtATime(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	h := limitRequests(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		started <- struct{}{}
		<-release
	}), 1, "busy")
	get := func() int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/maps", nil))
		return w.Code
	}
	first := make(chan int)
	go func() { first <- get() }()
	<-started
	if code := get(); code != http.StatusServiceUnavailable {
		t.Errorf("second request while the first is served: status %d, want 503", code)
	}
	close(release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("first request: status %d, want 200", code)
	}
	if code := get(); code != http.StatusOK {
		t.Errorf("request after the first ended: status %d, want 200", code)
	}
}

// TestDebugRoutes: /maps and Go's profiles are served only with --debug.
func TestDebugRoutes(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "metrics") })
	for _, tc := range []struct {
		path  string
		debug bool
		want  int
	}{
		{"/debug/pprof/", false, http.StatusNotFound},
		{"/debug/pprof/cmdline", false, http.StatusNotFound},
		{"/debug/pprof/heap", false, http.StatusNotFound},
		{"/maps", false, http.StatusNotFound},
		{"/debug/pprof/", true, http.StatusOK},
		{"/debug/pprof/cmdline", true, http.StatusOK},
		{"/debug/pprof/heap", true, http.StatusOK},
		{"/metrics", false, http.StatusOK},
		{"/metrics", true, http.StatusOK},
	} {
		t.Run(fmt.Sprintf("%s debug %v", tc.path, tc.debug), func(t *testing.T) {
			mux := newMux(&flags{telemetryPath: "/metrics", debug: tc.debug}, metrics, nil, logger)
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if w.Code != tc.want {
				t.Errorf("GET %s: status %d, want %d", tc.path, w.Code, tc.want)
			}
		})
	}
}

// TestWebSeveralListenAddresses: every --web.listen-address is served, and
// shutdown stops them all; an address that cannot be bound is an error
// naming it.
func TestWebSeveralListenAddresses(t *testing.T) {
	lns, err := openListeners(&flags{listen: []string{"127.0.0.1:0", "127.0.0.1:0"}})
	if err != nil || len(lns) != 2 {
		t.Fatalf("openListeners = %d listeners, %v; want 2", len(lns), err)
	}
	logger := slog.New(slog.DiscardHandler)
	mux := newMux(&flags{telemetryPath: "/metrics"}, metricsHandler(bigGatherer(1, 1, nil), testOptions(), logger), nil, logger)
	srvs := []*http.Server{newServer(mux, testOptions(), logger), newServer(mux, testOptions(), logger)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveHTTP(ctx, srvs, lns, "", time.Second, logger) }()
	client := &http.Client{Timeout: bound}
	for _, ln := range lns {
		if code := getStatus(client, ln.Addr().String()); code != http.StatusOK {
			t.Errorf("%s: status %d, want 200", ln.Addr(), code)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serveHTTP = %v, want nil", err)
		}
	case <-time.After(bound):
		t.Fatalf("shutdown still waiting after %s", bound)
	}
	for _, ln := range lns {
		if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			t.Errorf("%s still accepts connections after shutdown", ln.Addr())
		}
	}
	busy := lns[0].Addr().String()
	taken, err := net.Listen("tcp", busy)
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	if _, err := openListeners(&flags{listen: []string{"127.0.0.1:0", busy}}); err == nil || !strings.Contains(err.Error(), "--web.listen-address "+busy) {
		t.Errorf("err = %v, want one naming --web.listen-address %s", err, busy)
	}
}
