package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/kube"
)

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		names []string
		check func(*flags) bool
		err   string
	}{
		{name: "defaults", check: func(f *flags) bool {
			return f.configDir == "examples" && slices.Equal(f.listen, []string{":9435"}) && !f.systemdSocket && f.webConfigFile == "" && f.telemetryPath == "/metrics" && f.namespace == "ebpfmon" && !f.check && !f.strict &&
				f.maxRequests == 40 && f.scrapeTimeout == 30*time.Second && f.reload && f.watch && !f.enableLifecycle
		}},
		{name: "no reload", args: []string{"--no-config.reload", "--no-config.watch", "--web.enable-lifecycle"}, check: func(f *flags) bool { return !f.reload && !f.watch && f.enableLifecycle }},
		{name: "lifecycle path", args: []string{"--web.telemetry-path=/-/metrics"}, err: "/-/ holds /-/healthy"},
		{name: "comma list", args: []string{"--config.names=timers,syscalls"}, names: []string{"timers", "syscalls"}},
		{name: "repeated and spaced", args: []string{"--config.names=timers", "--config.names", " biolatency , "}, names: []string{"timers", "biolatency"}},
		{name: "trailing comma", args: []string{"--config.names=timers,"}, names: []string{"timers"}},
		{name: "empty names", args: []string{"--config.names="}, err: "--config.names: empty list"},
		{name: "only commas", args: []string{"--config.names=,,,"}, err: "--config.names: empty list"},
		{name: "blank names", args: []string{"--config.names= , "}, err: "--config.names: empty list"},
		{name: "name given twice", args: []string{"--config.names=a,b,a"}, err: `--config.names: config "a" given twice`},
		{name: "name with yaml", args: []string{"--config.names=timers.yaml"}, err: `--config.names: config "timers.yaml": give the name without .yaml`},
		{name: "name is a path", args: []string{"--config.names=../x"}, err: "want a file name, not a path"},
		{name: "names file", args: []string{"--config.names-file=/etc/ebpfmon/names", "--config.extra-dir=/a", "--config.extra-dir=/b"}, check: func(f *flags) bool {
			return f.configNamesFile == "/etc/ebpfmon/names" && slices.Equal(f.configExtraDirs, []string{"/a", "/b"})
		}},
		{name: "names file and names", args: []string{"--config.names-file=n", "--config.names=timers"}, err: "--config.names-file and --config.names both given"},
		{name: "ebpf_exporter namespace", args: []string{"--metrics.namespace=ebpf_exporter"}, check: func(f *flags) bool { return f.namespace == "ebpf_exporter" }},
		{name: "no namespace", args: []string{"--metrics.namespace="}, check: func(f *flags) bool { return f.namespace == "" }},
		{name: "bad namespace", args: []string{"--metrics.namespace=bad-ns!"}, err: `--metrics.namespace "bad-ns!": want letters, digits and _`},
		{name: "namespace with digit first", args: []string{"--metrics.namespace=1x"}, err: "--metrics.namespace"},
		{name: "namespace with colon", args: []string{"--metrics.namespace=a:b"}, err: "--metrics.namespace"},
		{name: "path without slash", args: []string{"--web.telemetry-path=metrics"}, err: `--web.telemetry-path "metrics" does not start with /`},
		{name: "root path", args: []string{"--web.telemetry-path=/"}, err: "is the landing page"},
		{name: "empty path", args: []string{"--web.telemetry-path="}, err: "--web.telemetry-path is empty"},
		{name: "wildcard path", args: []string{"--web.telemetry-path=/{x}"}, err: "use only letters"},
		{name: "space in path", args: []string{"--web.telemetry-path=/a b"}, err: "use only letters"},
		{name: "percent in path", args: []string{"--web.telemetry-path=/a%zz"}, err: "use only letters"},
		{name: "unclean path", args: []string{"--web.telemetry-path=/a//b"}, err: "not a clean path"},
		{name: "dot path", args: []string{"--web.telemetry-path=/a/../b"}, err: "not a clean path"},
		{name: "maps path with debug", args: []string{"--debug", "--web.telemetry-path=/maps"}, err: "where --debug serves the maps"},
		{name: "pprof path with debug", args: []string{"--debug", "--web.telemetry-path=/debug/pprof/heap"}, err: "where --debug serves Go's profiles"},
		{name: "pprof dir with debug", args: []string{"--debug", "--web.telemetry-path=/debug/pprof"}, err: "where --debug serves Go's profiles"},
		{name: "pprof path without debug", args: []string{"--web.telemetry-path=/debug/pprof/"}, check: func(f *flags) bool { return f.telemetryPath == "/debug/pprof/" }},
		{name: "maps path without debug", args: []string{"--web.telemetry-path=/maps"}, check: func(f *flags) bool { return f.telemetryPath == "/maps" }},
		{name: "subtree path", args: []string{"--web.telemetry-path=/ebpf/metrics/"}, check: func(f *flags) bool { return f.telemetryPath == "/ebpf/metrics/" }},
		{name: "loopback listen", args: []string{"--web.listen-address=127.0.0.1:0"}, check: func(f *flags) bool { return slices.Equal(f.listen, []string{"127.0.0.1:0"}) }},
		{name: "ipv6 listen", args: []string{"--web.listen-address=[::1]:9435"}, check: func(f *flags) bool { return slices.Equal(f.listen, []string{"[::1]:9435"}) }},
		{name: "hostname listen", args: []string{"--web.listen-address=localhost:9435"}, check: func(f *flags) bool { return slices.Equal(f.listen, []string{"localhost:9435"}) }},
		{name: "listen without port", args: []string{"--web.listen-address=127.0.0.1"}, err: "--web.listen-address \"127.0.0.1\": address 127.0.0.1: missing port"},
		{name: "listen port too big", args: []string{"--web.listen-address=:65536"}, err: `port "65536" is not a number from 0 to 65535`},
		{name: "listen port name", args: []string{"--web.listen-address=:http"}, err: "is not a number"},
		{name: "listen empty port", args: []string{"--web.listen-address=127.0.0.1:"}, err: "is not a number"},
		{name: "listen bad host", args: []string{"--web.listen-address=a b:80"}, err: `host "a b" is neither`},
		{name: "two listen addresses", args: []string{"--web.listen-address=127.0.0.1:9435", "--web.listen-address=[::1]:9435"}, check: func(f *flags) bool {
			return slices.Equal(f.listen, []string{"127.0.0.1:9435", "[::1]:9435"})
		}},
		{name: "listen address twice", args: []string{"--web.listen-address=:9435", "--web.listen-address=:9435"}, err: `--web.listen-address ":9435" given twice`},
		{name: "second listen address bad", args: []string{"--web.listen-address=:9435", "--web.listen-address=:x"}, err: `--web.listen-address ":x": port "x" is not a number`},
		{name: "systemd socket not passed", args: []string{"--web.systemd-socket"}, err: "--web.systemd-socket: LISTEN_PID and LISTEN_FDS are not both set: start ebpfmon from its .socket unit"},
		{name: "listen bad ip", args: []string{"--web.listen-address=300.1.1.1:80"}, err: `host "300.1.1.1" is neither`},
		{name: "negative max requests", args: []string{"--web.max-requests=-1"}, err: "--web.max-requests -1: want 0 or more"},
		{name: "no request limit", args: []string{"--web.max-requests=0"}, check: func(f *flags) bool { return f.maxRequests == 0 }},
		{name: "max series default", args: nil, check: func(f *flags) bool { return f.maxSeries == defaultMaxSeries }},
		{name: "no series limit", args: []string{"--metrics.max-series=0"}, check: func(f *flags) bool { return f.maxSeries == 0 }},
		{name: "series limit", args: []string{"--metrics.max-series=1000000"}, check: func(f *flags) bool { return f.maxSeries == 1_000_000 }},
		{name: "negative max series", args: []string{"--metrics.max-series=-1"}, err: "--metrics.max-series -1: want 0 or more (a number of series such as 10000, or 0 for no limit)"},
		{name: "max series not a number", args: []string{"--metrics.max-series=lots"}, err: `--metrics.max-series "lots": want a whole number`},
		{name: "zero scrape timeout", args: []string{"--web.scrape-timeout=0s"}, err: "--web.scrape-timeout 0s: want a positive duration"},
		{name: "every problem at once", args: []string{"--web.telemetry-path=x", "--metrics.namespace=-"}, err: "--web.telemetry-path \"x\" does not start with / (want an absolute path such as /metrics)\n--metrics.namespace"},
		{name: "bad log level", args: []string{"--log.level=loud"}, err: "log.level"},
		{name: "max requests not a number", args: []string{"--web.max-requests=abc"}, err: `--web.max-requests "abc": want a whole number`},
		{name: "max requests fraction", args: []string{"--web.max-requests=1.5"}, err: `--web.max-requests "1.5": want a whole number`},
		{name: "max requests overflow", args: []string{"--web.max-requests=99999999999999999999"}, err: `--web.max-requests "99999999999999999999": want a whole number`},
		{name: "scrape timeout not a duration", args: []string{"--web.scrape-timeout=abc"}, err: `--web.scrape-timeout "abc": want a duration such as 30s`},
		{name: "scrape timeout huge", args: []string{"--web.scrape-timeout=2562047h"}, err: "--web.scrape-timeout 2562047h0m0s: want at most 1h0m0s"},
		{name: "bad cgroup paths", args: []string{"--decoder.cgroup-paths=abs"}, err: `--decoder.cgroup-paths: unknown "abs", want relative|mount`},
		{name: "mount cgroup paths", args: []string{"--decoder.cgroup-paths=mount"}, check: func(f *flags) bool { return f.cgroupPaths == "mount" }},
		{name: "kube defaults", check: func(f *flags) bool {
			return f.kube.grace == kube.DefaultGrace && f.kube.kubeconfig == "" && f.kube.services
		}},
		{name: "kube flags", args: []string{"--kube.node-name=n1", "--kube.kubeconfig=/k", "--kube.pod-grace=0", "--no-kube.services"}, check: func(f *flags) bool {
			return f.kube == kubeFlags{node: "n1", kubeconfig: "/k", grace: 0, services: false}
		}},
		{name: "negative pod grace", args: []string{"--kube.pod-grace=-1s"}, err: "--kube.pod-grace -1s: want a duration >= 0"},
		{name: "pod grace not a duration", args: []string{"--kube.pod-grace=5"}, err: `--kube.pod-grace "5": want a duration`},
		{name: "pins off by default", check: func(f *flags) bool { return f.pinPath == "" && !f.resetPins }},
		{name: "pin path not bpffs", args: []string{"--bpf.pin-path=/proc/ebpfmon"}, err: "--bpf.pin-path /proc/ebpfmon: /proc is not on a bpf filesystem (filesystem magic 0x9fa0): mount one with `mount -t bpf bpf /sys/fs/bpf`"},
		{name: "reset pins without pin path", args: []string{"--bpf.reset-pins"}, err: "--bpf.reset-pins without --bpf.pin-path"},
		{name: "unknown flag", args: []string{"--config.file=x.yaml"}, err: "unknown long flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseFlags(tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.names != nil && !slices.Equal(f.configNames, tc.names) {
				t.Errorf("names = %q, want %q", f.configNames, tc.names)
			}
			if tc.check != nil && !tc.check(f) {
				t.Errorf("unexpected flags %+v", f)
			}
		})
	}
}

// TestKubeNodeNameEnv checks --kube.node-name defaults to $NODE_NAME.
func TestKubeNodeNameEnv(t *testing.T) {
	t.Setenv(kube.NodeNameEnv, "node-7")
	f, err := parseFlags(nil)
	if err != nil || f.kube.node != "node-7" {
		t.Fatalf("parseFlags = %+v, %v; want node node-7", f, err)
	}
}

// TestKubeconfigFlag checks a bad --kube.kubeconfig fails at start, naming
// the flag, and a good one makes no API request.
func TestKubeconfigFlag(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	bad := kubeFlags{kubeconfig: filepath.Join(t.TempDir(), "missing")}
	if _, err := bad.envOption(t.Context(), logger); err == nil || !strings.Contains(err.Error(), "--kube.kubeconfig: ") {
		t.Errorf("missing kubeconfig: err = %v", err)
	}
	good := filepath.Join(t.TempDir(), "kubeconfig")
	writeTestFile(t, good, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`)
	f := kubeFlags{kubeconfig: good}
	if _, err := f.envOption(t.Context(), logger); err != nil {
		t.Errorf("good kubeconfig: %v", err)
	}
}

func TestCheckDirs(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	link := filepath.Join(other, "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	names := filepath.Join(other, "names")
	writeTestFile(t, names, "timers\n")
	for _, tc := range []struct {
		name string
		f    flags
		err  string
	}{
		{"dirs", flags{configDir: dir, configExtraDirs: []string{other, "."}}, ""},
		{"extra dir twice", flags{configDir: ".", configExtraDirs: []string{dir, dir + "/"}}, "--config.extra-dir " + dir + "/: the same directory as --config.extra-dir " + dir + ": give each directory once"},
		{"extra dir is the config dir", flags{configDir: dir, configExtraDirs: []string{link}}, "--config.extra-dir " + link + ": the same directory as --config.dir " + dir},
		{"config dir empty", flags{configDir: ""}, "--config.dir: empty, want the directory"},
		{"extra dir empty", flags{configDir: dir, configExtraDirs: []string{""}}, "--config.extra-dir: empty, want the directory"},
		{"names file", flags{configDir: dir, configNamesFile: names}, ""},
		{"names file missing", flags{configDir: dir, configNamesFile: filepath.Join(other, "missing")}, "--config.names-file: names file: " + filepath.Join(other, "missing") + ": no such file or directory (want a file naming configs of --config.dir " + dir + ", or leave the flag out)"},
		{"names file is a directory", flags{configDir: dir, configNamesFile: other}, "--config.names-file: names file: " + other + ": not a regular file"},
		{"config dir is a file", flags{configDir: "main.go"}, "--config.dir main.go: not a directory"},
		{"config dir missing", flags{configDir: "nonexistent"}, "--config.dir: stat nonexistent: no such file"},
		{"extra dir is a file", flags{configDir: dir, configExtraDirs: []string{other, "main.go"}}, "--config.extra-dir main.go: not a directory"},
		{"extra dir missing", flags{configDir: dir, configExtraDirs: []string{"nonexistent"}}, "--config.extra-dir: stat nonexistent: no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkDirs(&tc.f)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
		})
	}
}

func writeTestFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSourcesAndWatchedDirs(t *testing.T) {
	f := &flags{configDir: "examples", configNamesFile: "/etc/ebpfmon/configs/examples.names", configExtraDirs: []string{"/etc/ebpfmon/configs/", "/more"}}
	src := f.sources()
	if len(src) != 3 || src[0].Dir != "examples" || src[0].NamesFile != f.configNamesFile || src[0].Names != nil || src[1].Dir != "/etc/ebpfmon/configs/" || src[2].Dir != "/more" || src[2].NamesFile != "" {
		t.Errorf("sources = %+v", src)
	}
	if got, want := f.watchedDirs(), []string{"/etc/ebpfmon/configs", "/more", "examples"}; !slices.Equal(got, want) {
		t.Errorf("watchedDirs = %q, want %q", got, want)
	}
}

// TestWatchedDirsOnce: a directory spelled two ways (a names file given
// relative to the working directory, in the --config.extra-dir given
// absolute) is watched once, not reloaded twice for each change.
func TestWatchedDirsOnce(t *testing.T) {
	dir := t.TempDir()
	cm := filepath.Join(dir, "cm")
	if err := os.Mkdir(cm, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	f := &flags{configDir: dir, configNamesFile: "cm/examples.names", configExtraDirs: []string{cm + "/"}}
	if got, want := f.watchedDirs(), []string{dir, cm}; !slices.Equal(got, want) {
		t.Errorf("watchedDirs = %q, want %q", got, want)
	}
}

// FuzzTelemetryPath checks that every --web.telemetry-path the flag check
// accepts can be served: registering it beside the landing page and /maps
// does not panic, and a request for it reaches the metrics handler.
func FuzzTelemetryPath(f *testing.F) {
	for _, p := range []string{"/metrics", "metrics", "/", "", "/maps", "/a/", "/{x}", "/a b", "/a%41", "/a//b", "/a/./b", "/!$&'()*+,;=:@-._~", "/{$}", "/...", "/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprofx"} {
		f.Add(p)
	}
	logger := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, p string) {
		if checkTelemetryPath(p, true) != nil {
			return
		}
		metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "metrics") })
		mux := newMux(&flags{telemetryPath: p, debug: true}, metrics, nil, logger)
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = p
		if _, pattern := mux.Handler(req); pattern != p {
			t.Errorf("GET %q routes to pattern %q, want the metrics handler", p, pattern)
		}
	})
}
