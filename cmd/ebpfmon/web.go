package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/ebpfmon/ebpfmon/exporter"
	"github.com/ebpfmon/ebpfmon/lifecycle"
)

// Fixed limits of the HTTP server; webOptions holds the ones flags or
// tests change.
const (
	readHeaderTimeout = 10 * time.Second // a client that sends its headers slowly
	readTimeout       = 30 * time.Second // a whole request (GET: headers only)
	sendMargin        = 10 * time.Second // time to send a response, on top of --web.scrape-timeout
	idleTimeout       = 60 * time.Second // a kept-alive connection without a request
	shutdownGrace     = 5 * time.Second  // requests in flight at shutdown, before their connections are closed
	maxHeaderBytes    = 64 << 10
)

// webOptions bound what HTTP clients can hold: connections, goroutines
// and gathered responses.
type webOptions struct {
	maxRequests   int           // scrapes served at once; more get 503 (0: no limit)
	scrapeTimeout time.Duration // a slower scrape gets 503
	writeTimeout  time.Duration // from a request's headers to the end of its response
	idleTimeout   time.Duration // a kept-alive connection without a request is closed
	shutdownGrace time.Duration // how long shutdown waits for requests in flight
}

func webOptionsFrom(f *flags) webOptions {
	return webOptions{
		maxRequests:   f.maxRequests,
		scrapeTimeout: f.scrapeTimeout,
		writeTimeout:  f.scrapeTimeout + sendMargin,
		idleTimeout:   idleTimeout,
		shutdownGrace: shutdownGrace,
	}
}

// listen serves the metrics of reg and exp on --web.listen-address, and
// reloads the configs on hups, POST /-/reload and changes in
// the config directories, until ctx ends.
func listen(ctx context.Context, f *flags, reg *prometheus.Registry, exp *exporter.Exporter, hups <-chan struct{}, n *notifier, logger *slog.Logger) error {
	opts := webOptionsFrom(f)
	mux := newMux(f, metricsHandler(exp.Gatherer(reg), opts, logger), exp, logger)
	rl := newReloader(f, exp, n, logger)
	var ready atomic.Bool
	lifecycleRoutes(ctx, mux, f, rl, &ready)
	lns, err := openListeners(f)
	if err != nil {
		return err
	}
	// Everything is loaded and attached and the port is bound (a port
	// below 1024 needs a capability): drop what serving (and reloading)
	// does not need.
	if err := dropCapabilities(f.capsKeep, f.reload, logger); err != nil {
		closeListeners(lns)
		return err
	}
	if f.reload {
		var changes <-chan struct{}
		if f.watch {
			if changes, err = watchDirs(ctx, f.watchedDirs(), watchQuiet, logger); err != nil {
				closeListeners(lns)
				return err
			}
		}
		go rl.run(ctx, hups, changes)
	}
	ready.Store(true) // the configs are loaded: /-/ready answers 200
	n.ready(exp)      // and systemd's Type=notify start ends
	srvs := make([]*http.Server, len(lns))
	for i, ln := range lns {
		logger.Info("listening", "address", ln.Addr().String(), "path", f.telemetryPath, "web_config", f.webConfigFile)
		srvs[i] = newServer(mux, opts, logger)
	}
	return serveHTTP(ctx, srvs, lns, f.webConfigFile, opts.shutdownGrace, logger)
}

// openListeners binds every --web.listen-address or, with
// --web.systemd-socket, takes the sockets systemd passed.
func openListeners(f *flags) ([]net.Listener, error) {
	if f.systemdSocket {
		return systemdListeners()
	}
	lns := make([]net.Listener, 0, len(f.listen))
	for _, addr := range f.listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			closeListeners(lns)
			return nil, fmt.Errorf("--web.listen-address %s: %w", addr, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// systemdListeners are the listening sockets systemd passed (LISTEN_FDS
// from fd 3, for this process by LISTEN_PID); the variables are unset, so
// that no child takes them for its own.
func systemdListeners() ([]net.Listener, error) {
	lns, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("--web.systemd-socket: %w", err)
	}
	if len(lns) == 0 {
		return nil, errors.New("--web.systemd-socket: systemd passed no socket to this process (LISTEN_PID, LISTEN_FDS): start ebpfmon from its .socket unit, or leave the flag out")
	}
	for i, ln := range lns {
		if ln == nil {
			closeListeners(lns)
			return nil, fmt.Errorf("--web.systemd-socket: fd %d is not a listening stream socket: give the .socket unit ListenStream= only", 3+i)
		}
	}
	return lns, nil
}

func closeListeners(lns []net.Listener) {
	for _, ln := range lns {
		if ln != nil {
			ln.Close()
		}
	}
}

// lifecycleRoutes adds Prometheus's lifecycle endpoints: /-/healthy (200
// while ebpfmon serves), /-/ready (200 once the configs are loaded, 503
// before) and /-/reload (see reloadHandler).
func lifecycleRoutes(ctx context.Context, mux *http.ServeMux, f *flags, rl *reloader, ready *atomic.Bool) {
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ebpfmon is Healthy.")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "ebpfmon is loading its configs.", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ebpfmon is Ready.")
	})
	disabled := ""
	switch {
	case !f.reload:
		disabled = "Reloads are off (--no-config.reload)."
	case !f.enableLifecycle:
		disabled = "Lifecycle API is not enabled (--web.enable-lifecycle)."
	}
	mux.HandleFunc("/-/reload", reloadHandler(ctx, rl, disabled))
}

// newMux routes the telemetry path, the landing page, /status and, with --debug,
// the maps and Go's profiles. checkTelemetryPath makes sure the patterns
// are valid and distinct.
func newMux(f *flags, metrics http.Handler, exp *exporter.Exporter, logger *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(f.telemetryPath, metrics)
	mux.HandleFunc("/", landing(f, exp))
	mux.HandleFunc(statusPath, statusHandler(exp, logger))
	if f.debug {
		// A debug dump of every map is built in memory: one at a time.
		mux.Handle(debugPath, limitRequests(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if err := exp.WriteDebugMaps(w); err != nil {
				logger.Warn(debugPath, "err", err)
			}
		}), 1, debugPath+" serves one request at a time, try again later"))
		mux.HandleFunc(pprofPath, pprof.Index) // and the profiles by name
		mux.HandleFunc(pprofPath+"cmdline", pprof.Cmdline)
		mux.HandleFunc(pprofPath+"profile", pprof.Profile)
		mux.HandleFunc(pprofPath+"symbol", pprof.Symbol)
		mux.HandleFunc(pprofPath+"trace", pprof.Trace)
	}
	return mux
}

// metricsHandler serves g with at most opts.maxRequests scrapes at once
// (more get 503 at once instead of queueing on the map locks), each
// answered 503 after opts.scrapeTimeout, and one log line per failed
// scrape. promhttp's own Timeout is not used: a scrape it abandons goes on
// in the background and logs one line per metric family it can no longer
// write.
func metricsHandler(g prometheus.Gatherer, opts webOptions, logger *slog.Logger) http.Handler {
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError, // one bad family must not hide the others
	})
	// The limit is inside the timeout, so that a scrape past its timeout
	// holds its slot until its gather really ends.
	h = limitScrapes(dropAfterError(h), opts.maxRequests)
	msg := fmt.Sprintf("scrape slower than --web.scrape-timeout=%s\n", opts.scrapeTimeout)
	return logFailedScrapes(http.TimeoutHandler(h, opts.scrapeTimeout, msg), logger)
}

// limitScrapes answers 503 at once when limit scrapes are in flight (no
// limit when it is 0).
func limitScrapes(next http.Handler, limit int) http.Handler {
	if limit <= 0 {
		return next
	}
	return limitRequests(next, limit, fmt.Sprintf("more than --web.max-requests=%d scrapes at once, try again later", limit))
}

// limitRequests serves at most limit requests at once and answers the
// others 503 with msg at once.
func limitRequests(next http.Handler, limit int, msg string) http.Handler {
	slots := make(chan struct{}, limit)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		default:
			if s, ok := r.Context().Value(scrapeKey{}).(*scrapeState); ok {
				s.refused.Store(true)
			}
			http.Error(w, msg, http.StatusServiceUnavailable)
		}
	})
}

// newServer is the HTTP server with its timeouts, so that idle clients,
// slow ones and ones that stop reading are let go. The timeouts bound the
// TLS handshake too.
func newServer(h http.Handler, opts webOptions, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      opts.writeTimeout,
		IdleTimeout:       opts.idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// serveHTTP serves srvs[i] on lns[i], with the TLS and basic auth of
// webConfig (--web.config.file; "": plain HTTP), until ctx ends or one of
// them fails, then shuts them all down: requests in flight get grace to
// finish, then their connections are closed. A client that never reads
// cannot hold ebpfmon up, and that is not an error. Each listener has its
// own server: the toolkit sets the handler and TLS config of the server
// it is given.
func serveHTTP(ctx context.Context, srvs []*http.Server, lns []net.Listener, webConfig string, grace time.Duration, logger *slog.Logger) error {
	errc := make(chan error, len(lns))
	for i, ln := range lns {
		go func() { errc <- serveWeb(srvs[i], ln, webConfig, logger) }()
	}
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		logger.Info("shutting down: detaching programs")
	}
	shutdown(srvs, grace, logger)
	return err
}

// serveWeb serves srv on ln through the exporter toolkit, which adds TLS
// and basic auth when webConfig asks for them (plain HTTP without it). It returns only on an
// error (or once srv is shut down).
func serveWeb(srv *http.Server, ln net.Listener, webConfig string, logger *slog.Logger) error {
	quiet := slog.New(infoAsDebug{logger.Handler()}) // "listening" says it once
	if webConfig != "" {
		guardAuth(srv, newAuthGuard())
	}
	err := web.Serve(ln, srv, &web.FlagConfig{WebConfigFile: &webConfig}, quiet)
	if webConfig != "" {
		return fmt.Errorf("serve %s with --web.config.file %s: %w", ln.Addr(), webConfig, err)
	}
	return fmt.Errorf("serve %s: %w", ln.Addr(), err)
}

// infoAsDebug logs info records at debug level: the toolkit's lines
// about each listener, which the "listening" line already gives.
type infoAsDebug struct{ slog.Handler }

func (h infoAsDebug) Enabled(ctx context.Context, l slog.Level) bool {
	return h.Handler.Enabled(ctx, h.level(l))
}

func (h infoAsDebug) Handle(ctx context.Context, r slog.Record) error {
	r.Level = h.level(r.Level)
	return h.Handler.Handle(ctx, r)
}

func (h infoAsDebug) WithAttrs(attrs []slog.Attr) slog.Handler {
	return infoAsDebug{h.Handler.WithAttrs(attrs)}
}

func (h infoAsDebug) WithGroup(name string) slog.Handler {
	return infoAsDebug{h.Handler.WithGroup(name)}
}

func (infoAsDebug) level(l slog.Level) slog.Level {
	if l == slog.LevelInfo {
		return slog.LevelDebug
	}
	return l
}

// shutdown shuts srvs down at once: requests in flight get grace to
// finish, then their connections are closed.
func shutdown(srvs []*http.Server, grace time.Duration, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range srvs {
		wg.Go(func() {
			if err := srv.Shutdown(ctx); err != nil {
				logger.Warn("closing connections still busy at shutdown", "grace", grace, "err", err)
				if err := srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
					logger.Warn("close HTTP server", "err", err)
				}
			}
		})
	}
	wg.Wait()
}

// scrapeKey is the request context key of a *scrapeState.
type scrapeKey struct{}

// scrapeState tells logFailedScrapes what limitScrapes did.
type scrapeState struct {
	refused atomic.Bool // answered 503 for --web.max-requests
}

// logFailedScrapes logs one line per scrape that failed: answered 503 (too
// slow; at debug level, refused for --web.max-requests: the client is told
// why, and a flood of them would flood the log), or not sent because the
// client went away, however many writes failed (after the first failure,
// writes are dropped) or none (the client left before the response was
// ready: net/http then cancels the request's context).
func logFailedScrapes(next http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		state := &scrapeState{}
		sw := &sendWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), scrapeKey{}, state)))
		err := sw.err
		if err == nil && r.Context().Err() != nil {
			err = fmt.Errorf("the client closed the connection: %w", r.Context().Err())
		}
		switch {
		case err != nil:
			logger.Warn("scrape response not sent", "client", r.RemoteAddr, "err", err)
		case sw.status == http.StatusServiceUnavailable && state.refused.Load():
			logger.Debug("scrape refused: --web.max-requests scrapes in flight", "client", r.RemoteAddr)
		case sw.status == http.StatusServiceUnavailable:
			logger.Warn("scrape slower than --web.scrape-timeout, answered 503", "client", r.RemoteAddr)
		}
	})
}

// dropAfterError hides write errors from next: the first one ends the
// response, and logFailedScrapes reports it.
func dropAfterError(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&sendWriter{ResponseWriter: w}, r)
	})
}

// sendWriter remembers the status and the first failed write, and drops
// the writes after it.
type sendWriter struct {
	http.ResponseWriter
	status int
	err    error
}

func (w *sendWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *sendWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.err != nil {
		return len(p), nil
	}
	if _, err := w.ResponseWriter.Write(p); err != nil {
		w.err = err
	}
	return len(p), nil
}

// Unwrap gives http.ResponseController the connection's writer.
func (w *sendWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var landingPage = template.Must(template.New("landing").Parse(`<!doctype html>
<html><head><title>ebpfmon</title></head><body>
<h1>ebpfmon</h1>
<p><a href="{{.Path}}">Metrics</a> · <a href="{{.StatusPath}}">Status</a>{{if .Debug}} · <a href="{{.DebugPath}}">Maps (debug)</a> · <a href="{{.PprofPath}}">Profiles (debug)</a>{{end}} · <a href="/-/healthy">Healthy</a> · <a href="/-/ready">Ready</a></p>
<h2>Configs</h2>
<ul>{{range .Units}}<li>{{.Name}}</li>{{else}}<li>none loaded</li>{{end}}</ul>
</body></html>
`))

func landing(f *flags, exp *exporter.Exporter) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = landingPage.Execute(w, struct {
			Path, StatusPath, DebugPath, PprofPath string
			Debug                                  bool
			Units                                  []*lifecycle.Unit
		}{f.telemetryPath, statusPath, debugPath, pprofPath, f.debug, exp.Units()})
	}
}
