package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ebpfmon/ebpfmon/exporter"
)

// watchQuiet is how long the config directory must stay still after a
// change before the watch reloads: an editor's or kubelet's burst of
// writes, renames and deletes becomes one reload.
const watchQuiet = time.Second

// reloader runs the reloads SIGHUP, POST /-/reload and the watch of
// --config.dir ask for; the exporter serialises them.
type reloader struct {
	exp     *exporter.Exporter
	sources []exporter.Source
	strict  bool
	notify  *notifier
	logger  *slog.Logger
}

func newReloader(f *flags, exp *exporter.Exporter, n *notifier, logger *slog.Logger) *reloader {
	return &reloader{exp: exp, sources: f.sources(), strict: f.strict, notify: n, logger: logger}
}

// reload reloads the configs, tells systemd (RELOADING=1, then READY=1)
// and logs what it did.
func (r *reloader) reload(ctx context.Context, trigger string) exporter.ReloadResult {
	r.logger.Info("reloading configs", "trigger", trigger)
	var res exporter.ReloadResult
	r.notify.reload(trigger, r.exp, func() {
		res = r.exp.Reload(ctx, r.sources, exporter.ReloadOptions{Strict: r.strict})
	})
	attrs := []any{"trigger", trigger, "duration", res.Duration,
		"added", strings.Join(res.Added, ","), "changed", strings.Join(res.Changed, ","),
		"removed", strings.Join(res.Removed, ","), "unchanged", len(res.Unchanged)}
	switch {
	case res.Err != nil:
		r.logger.Error("reload failed", append(attrs, "err", res.Err)...)
	case len(res.Failed) > 0:
		r.logger.Error("reload failed for some configs; their running versions, if any, keep running", append(attrs, "failed", strings.Join(res.FailedConfigs(), ","))...)
	default:
		r.logger.Info("reload done", attrs...)
	}
	return res
}

// run reloads on every SIGHUP and every change the watch reports (nil:
// no watch) until ctx ends.
func (r *reloader) run(ctx context.Context, hups, changes <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hups:
			r.reload(ctx, "SIGHUP")
		case <-changes:
			r.reload(ctx, "watch")
		}
	}
}

// reloadHandler serves POST (or PUT) /-/reload as Prometheus does: 403
// unless --web.enable-lifecycle, 405 for other methods, 200 when every
// config is the one on disk, 500 otherwise; the body says what happened
// to each config. ctx is the server's: a reload is not cut short because
// its client left.
func reloadHandler(ctx context.Context, r *reloader, disabled string) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		if disabled != "" {
			http.Error(w, disabled, http.StatusForbidden)
			return
		}
		if req.Method != http.MethodPost && req.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "Only POST or PUT requests allowed.", http.StatusMethodNotAllowed)
			return
		}
		res := r.reload(ctx, "HTTP "+req.RemoteAddr)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !res.OK() {
			w.WriteHeader(http.StatusInternalServerError)
		}
		fmt.Fprint(w, reloadReport(res))
	}
}

// reloadReport is what /-/reload answers: one line per outcome, then one
// per failed config with its error.
func reloadReport(res exporter.ReloadResult) string {
	var b strings.Builder
	if res.Err != nil {
		fmt.Fprintf(&b, "reload failed: %v\n", res.Err)
		return b.String()
	}
	for _, l := range []struct {
		what  string
		names []string
	}{{"added", res.Added}, {"changed", res.Changed}, {"removed", res.Removed}, {"unchanged", res.Unchanged}} {
		fmt.Fprintf(&b, "%s: %s\n", l.what, strings.Join(l.names, " "))
	}
	fmt.Fprintf(&b, "failed: %s\n", strings.Join(res.FailedConfigs(), " "))
	for _, c := range res.Failed {
		fmt.Fprintf(&b, "\nconfig %s failed (its running version, if any, keeps running):\n%v\n", c.Config, c.Err)
	}
	fmt.Fprintf(&b, "duration: %s\n", res.Duration.Round(time.Microsecond))
	return b.String()
}
