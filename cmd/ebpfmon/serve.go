package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/cilium/ebpf/rlimit"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/exporter"
)

// serve loads the configs, then serves metrics until ctx ends
// (--config.check: returns right after loading).
func serve(ctx context.Context, f *flags, logger *slog.Logger) error {
	exp, err := loadConfigs(f, logger)
	if exp != nil {
		defer exp.Close()
	}
	if err != nil || f.check {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(exp, versioncollector.NewCollector(f.namespace),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return listen(ctx, f, reg, exp, logger)
}

// loadConfigs opens every config. Failures are logged and, without
// --config.strict, skipped; with it they are fatal, as are missed attachments.
func loadConfigs(f *flags, logger *slog.Logger) (*exporter.Exporter, error) {
	names, err := configNames(f)
	if err != nil {
		return nil, err
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; later ones
	// use the memory cgroup and this does nothing.
	if err := rlimit.RemoveMemlock(); err != nil {
		logger.Warn("cannot raise RLIMIT_MEMLOCK; loading may fail on kernels before 5.11", "err", err)
	}
	kernelBTF, err := exporter.LoadKernelBTF(f.btfPath)
	if err != nil {
		return nil, err
	}
	exp := exporter.New(exporter.Options{Namespace: f.namespace, KernelBTF: kernelBTF, Env: decoder.NewEnv(), Logger: logger})
	var failed []string
	for _, name := range names {
		u, err := exp.Load(f.configDir, name)
		if err == nil && (f.strict || f.check) && len(u.AttachErrors()) > 0 {
			err = errors.Join(u.AttachErrors()...)
		}
		if err != nil {
			logger.Error("config failed", "config", name, "err", err)
			failed = append(failed, name)
			continue
		}
		logger.Info("config loaded", "config", name)
	}
	if len(failed) > 0 && (f.strict || f.check) {
		return exp, fmt.Errorf("%d of %d configs failed: %s", len(failed), len(names), strings.Join(failed, ", "))
	}
	if f.check {
		logger.Info("config check passed", "configs", strings.Join(names, ","))
	}
	return exp, nil
}

// configNames is --config.names, or every config in --config.dir.
func configNames(f *flags) ([]string, error) {
	if len(f.configNames) == 0 {
		return config.Names(f.configDir)
	}
	seen := map[string]bool{}
	for _, n := range f.configNames {
		if seen[n] {
			return nil, fmt.Errorf("--config.names: config %q given twice", n)
		}
		seen[n] = true
	}
	return f.configNames, nil
}

// splitNames accepts both --config.names=a,b and repeated flags.
func splitNames(in []string) []string {
	var out []string
	for _, s := range in {
		for _, n := range strings.Split(s, ",") {
			if n = strings.TrimSpace(n); n != "" {
				out = append(out, n)
			}
		}
	}
	return out
}

func listen(ctx context.Context, f *flags, reg *prometheus.Registry, exp *exporter.Exporter, logger *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle(f.telemetryPath, promhttp.HandlerFor(exp.Gatherer(reg), promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError, // one bad family must not hide the others
	}))
	mux.HandleFunc("/", landing(f, exp))
	if f.debug {
		mux.HandleFunc("/maps", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if err := exp.WriteDebugMaps(w); err != nil {
				logger.Warn("/maps", "err", err)
			}
		})
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("--web.listen-address: %w", err)
	}
	// Everything is loaded and attached and the port is bound (a port
	// below 1024 needs a capability): drop what serving does not need.
	if err := dropCapabilities(f.capsKeep, logger); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("listening", "address", ln.Addr().String(), "path", f.telemetryPath)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: detaching programs")
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

var landingPage = template.Must(template.New("landing").Parse(`<!doctype html>
<html><head><title>ebpfmon</title></head><body>
<h1>ebpfmon</h1>
<p><a href="{{.Path}}">Metrics</a>{{if .Debug}} · <a href="/maps">Maps (debug)</a>{{end}}</p>
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
			Path  string
			Debug bool
			Units []*exporter.Unit
		}{f.telemetryPath, f.debug, exp.Units()})
	}
}
