package main

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/exporter"
	"github.com/ebpfmon/ebpfmon/internal/regfile"
	"github.com/ebpfmon/ebpfmon/lifecycle"
)

// flags are the command line settings.
type flags struct {
	configDir, btfPath             string
	pinPath                        string
	resetPins                      bool
	configNames, configExtraDirs   []string
	configNamesFile                string
	check, strict, debug           bool
	reload, watch, enableLifecycle bool
	listen                         []string
	systemdSocket                  bool
	webConfigFile                  string
	telemetryPath, namespace       string
	maxRequests                    int
	maxSeries                      int
	scrapeTimeout                  time.Duration
	logLevel, logFormat            string
	capsKeep                       string
	cgroupPaths                    string
	kube                           kubeFlags
	command                        string // "serve" (the default) or "dashboard"
	dashboardOutput                string // dashboard --output; "-": stdout
}

// defaultMaxSeries is --metrics.max-series' default: see its help.
const defaultMaxSeries = 10000

// debugPath is where --debug serves the maps, pprofPath Go's profiles.
const (
	debugPath = "/maps"
	pprofPath = "/debug/pprof/"
)

// parseFlags parses and checks args. Every value is checked here, before
// anything is loaded, so that a typo costs no load and attach.
func parseFlags(args []string) (*flags, error) {
	f := &flags{}
	app := kingpin.New("ebpfmon", "Export eBPF maps as Prometheus metrics.\n\n"+
		"For each config NAME, ebpfmon reads NAME.yaml (the metric schema, ebpf_exporter's format) and "+
		"NAME.bpf.o (a CO-RE object) from --config.dir, loads the object, attaches every program to the "+
		"hook its ELF section names (tracepoint/, raw_tp/, tp_btf/, kprobe/, fentry/, uprobe/, perf_event/, xdp/, cgroup_skb/ ...) "+
		"and serves the maps on --web.telemetry-path. A config that fails is logged and reported as "+
		"ebpfmon_config_loaded 0 and ebpfmon_config_error_info{stage=...}; the others keep running (unless --config.strict). "+
		"/status shows every config's state, programs and last error (stage, file, verifier log).\n\n"+
		"Files must be regular files (or symlinks to one) of at most "+regfile.Size(config.MaxFileSize)+" (NAME.yaml), "+
		regfile.Size(lifecycle.MaxObjectSize)+" (NAME.bpf.o) and "+regfile.Size(lifecycle.MaxBTFSize)+" (--btf.path).\n\n"+
		"SIGINT and SIGTERM stop ebpfmon (a second one exits at once). SIGHUP, POST /-/reload (with --web.enable-lifecycle) "+
		"and changes in the config directories (--config.watch) reload the configs whose files changed, load new ones and close removed ones; "+
		"a config that fails to reload keeps its running version.")
	app.Version(version.Print("ebpfmon"))
	app.HelpFlag.Short('h')
	app.Flag("config.dir", "Directory with NAME.yaml and NAME.bpf.o files.").Default("examples").StringVar(&f.configDir)
	app.Flag("config.names", "Comma-separated configs to load (default: every NAME.yaml in --config.dir).").PlaceHolder("NAME,...").StringsVar(&f.configNames)
	app.Flag("config.names-file", "File listing the configs to load from --config.dir instead of --config.names: names separated by commas, spaces or newlines, # starts a comment; read again at every reload (empty: none from --config.dir).").PlaceHolder("FILE").StringVar(&f.configNamesFile)
	app.Flag("config.extra-dir", "Another directory of configs, repeatable: every NAME.yaml in it is loaded with the NAME.bpf.o beside it, and reloaded as it changes (such as a mounted ConfigMap). A config name may be in one directory only, and each directory given once (not also as --config.dir).").PlaceHolder("DIR").StringsVar(&f.configExtraDirs)
	app.Flag("config.check", "Load and attach every config, report, detach and exit (0 only if every config loaded and every program attached).").BoolVar(&f.check)
	app.Flag("config.strict", "Fail instead of continuing when a config fails to load or a program fails to attach.").BoolVar(&f.strict)
	app.Flag("config.reload", "Reload configs on SIGHUP, POST /-/reload and --config.watch; keeps the capabilities loading needs (--capabilities.keep=auto drops nothing). --no-config.reload: SIGHUP is ignored.").Default("true").BoolVar(&f.reload)
	app.Flag("config.watch", "Reload when --config.dir changes (inotify, after "+watchQuiet.String()+" without changes): file edits, and a mounted ConfigMap's ..data swap.").Default("true").BoolVar(&f.watch)
	app.Flag("web.enable-lifecycle", "Serve POST /-/reload (as Prometheus does); without it /-/reload answers 403.").BoolVar(&f.enableLifecycle)
	app.Flag("btf.path", "Kernel BTF to relocate against, and to name btf_enum decoders' values from, instead of /sys/kernel/btf/vmlinux (for kernels without BTF): it must describe the running kernel.").StringVar(&f.btfPath)
	app.Flag("bpf.pin-path", "Directory of its own on a bpf filesystem (such as /sys/fs/bpf/ebpfmon, not its root; created if need be) to pin each config's counter and histogram maps in, as DIR/CONFIG/MAP, so that their counts survive restarts, upgrades and reloads; a map whose definition changed is replaced (see the README section \"Pinned maps\"); one ebpfmon per directory (a second one exits); --config.check leaves the pins alone. Off when empty.").PlaceHolder("DIR").StringVar(&f.pinPath)
	app.Flag("bpf.reset-pins", "With --bpf.pin-path: remove each config's pins (DIR/CONFIG) when it first loads in this process, so its counters start from zero.").BoolVar(&f.resetPins)
	app.Flag("web.listen-address", "Address to serve metrics on: [HOST]:PORT; repeat the flag to serve on several (not used with --web.systemd-socket).").Default(":9435").StringsVar(&f.listen)
	app.Flag("web.systemd-socket", "Serve on the sockets systemd passes (socket activation: LISTEN_FDS, LISTEN_PID) instead of binding --web.listen-address.").BoolVar(&f.systemdSocket)
	app.Flag("web.config.file", "Web config file enabling TLS and basic auth, in the format of Prometheus and node_exporter (tls_server_config, basic_auth_users, http_server_config); read again at each connection.").PlaceHolder("FILE").StringVar(&f.webConfigFile)
	app.Flag("web.telemetry-path", "Path to serve metrics on: absolute, and not / (the landing page) nor /status.").Default("/metrics").StringVar(&f.telemetryPath)
	app.Flag("web.max-requests", "Most scrapes served at once; more are answered 503 at once (0: no limit).").Default("40").SetValue(intValue("web.max-requests", &f.maxRequests))
	app.Flag("web.scrape-timeout", "Longest a scrape may take (at most "+maxScrapeTimeout.String()+"): a slower one is answered 503; a client gets this plus 10s to read its response.").Default("30s").SetValue(durationValue("web.scrape-timeout", &f.scrapeTimeout))
	app.Flag("metrics.namespace", "Prefix of every metric name (letters, digits, _; or empty); ebpf_exporter gives its metric names.").Default("ebpfmon").StringVar(&f.namespace)
	app.Flag("metrics.max-series", "Most label sets one metric exports within an hour (a place freed by a label set that left goes to a new one an hour later), for metrics without their own max_series: further label sets fold into one overflow series "+
		"whose labels are all __overflow__ and whose values are their sum (see ebpfmon_series_overflow_total). The default, "+strconv.Itoa(defaultMaxSeries)+", is above what a node's syscalls, "+
		"cgroups, devices or CPUs make, and keeps a runaway key space (an LRU map of pids or addresses) to that many series per metric per node "+
		"(about 0.6 MB of exposition for a counter with three labels); raise it (or set max_series) for bigger maps. 0: no limit.").Default(strconv.Itoa(defaultMaxSeries)).SetValue(intValue("metrics.max-series", &f.maxSeries))
	app.Flag("decoder.cgroup-paths", "How the cgroup decoder writes paths: relative (to the cgroup2 root, \"/system.slice/x.service\") or mount (with the cgroup2 mount point in front, \"/sys/fs/cgroup/system.slice/x.service\", as ebpf_exporter does).").Default("relative").StringVar(&f.cgroupPaths)
	addKubeFlags(app, &f.kube)
	app.Flag("debug", "Serve "+debugPath+" (every map's raw keys, decoded labels and values, as JSON) and Go's profiles on "+pprofPath+".").BoolVar(&f.debug)
	app.Flag("log.level", "Log level: debug, info, warn, error.").Default("info").StringVar(&f.logLevel)
	app.Flag("log.format", "Log format: logfmt or json.").Default("logfmt").StringVar(&f.logFormat)
	addCapabilitiesFlag(app, &f.capsKeep)
	app.Command("serve", "Load the configs and serve their metrics (the default command).").Default()
	addDashboardCommand(app, f)
	cmd, err := app.Parse(args)
	if err != nil {
		return nil, fmt.Errorf("%w (see --help)", err)
	}
	f.command = cmd
	names, err := checkNames(f.configNames)
	if err != nil {
		return nil, err
	}
	f.configNames = names
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// validate checks every flag value that kingpin cannot, and returns every
// problem at once.
func (f *flags) validate() error {
	return errors.Join(
		checkNamesFile(f.configNamesFile, f.configNames),
		oneOf("--log.level", f.logLevel, "debug", "info", "warn", "error"),
		oneOf("--log.format", f.logFormat, "logfmt", "json"),
		oneOf("--decoder.cgroup-paths", f.cgroupPaths, "relative", "mount"),
		checkCapabilitiesFlag(f.capsKeep),
		checkListenAddresses(f.listen),
		checkSystemdSocket(f.systemdSocket, os.Getpid(), os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS")),
		checkWebConfig(f.webConfigFile),
		checkTelemetryPath(f.telemetryPath, f.debug),
		checkNamespace(f.namespace),
		checkPinFlags(f.pinPath, f.resetPins),
		checkAtLeast("--web.max-requests", f.maxRequests, 0, "0 for no limit"),
		checkAtLeast("--metrics.max-series", f.maxSeries, 0, "a number of series such as 10000, or 0 for no limit"),
		checkScrapeTimeout(f.scrapeTimeout),
		f.kube.validate(),
	)
}

func oneOf(flag, value string, allowed ...string) error {
	if slices.Contains(allowed, value) {
		return nil
	}
	return fmt.Errorf("%s: unknown %q, want %s", flag, value, strings.Join(allowed, "|"))
}

// checkNames splits --config.names (a,b and repeated flags) and checks
// each name. A flag given with nothing in it ("", ",,,") is an error, not
// "every config": leave the flag out for that.
func checkNames(raw []string) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	names, err := config.ParseNames(strings.Join(raw, ","))
	if err != nil {
		return nil, fmt.Errorf("--config.names: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("--config.names: empty list, give NAME[,NAME...] or leave the flag out to load every NAME.yaml in --config.dir")
	}
	return names, nil
}

// checkNamesFile checks --config.names-file is not given with
// --config.names; the file itself is read at every load.
func checkNamesFile(file string, names []string) error {
	if file != "" && names != nil {
		return errors.New("--config.names-file and --config.names both given: use one of them")
	}
	return nil
}

// sources are the config directories and which configs of each to load.
func (f *flags) sources() []exporter.Source {
	src := []exporter.Source{{Dir: f.configDir, Names: f.configNames, NamesFile: f.configNamesFile}}
	for _, dir := range f.configExtraDirs {
		src = append(src, exporter.Source{Dir: dir})
	}
	return src
}

// watchedDirs are the directories whose changes reload the configs: the
// config directories and the one holding --config.names-file, each once
// however it is spelled (one watch per directory, one reload per change).
func (f *flags) watchedDirs() []string {
	dirs := append([]string{f.configDir}, f.configExtraDirs...)
	if f.configNamesFile != "" {
		dirs = append(dirs, filepath.Dir(f.configNamesFile))
	}
	for i, d := range dirs {
		dirs[i] = filepath.Clean(d)
	}
	slices.Sort(dirs)
	dirs = slices.Compact(dirs)
	var infos []os.FileInfo
	return slices.DeleteFunc(dirs, func(d string) bool {
		info, err := os.Stat(d)
		if err != nil {
			return false // watchDir reports it
		}
		if slices.ContainsFunc(infos, func(seen os.FileInfo) bool { return os.SameFile(seen, info) }) {
			return true
		}
		infos = append(infos, info)
		return false
	})
}

// checkListenAddresses checks every --web.listen-address, each given once.
func checkListenAddresses(addrs []string) error {
	errs := make([]error, 0, len(addrs))
	for i, addr := range addrs {
		if slices.Contains(addrs[:i], addr) {
			errs = append(errs, fmt.Errorf("--web.listen-address %q given twice: give each address once", addr))
			continue
		}
		errs = append(errs, checkListenAddress(addr))
	}
	return errors.Join(errs...)
}

// checkSystemdSocket checks that, with --web.systemd-socket, systemd
// passed this process (pid) its sockets: LISTEN_PID names it and
// LISTEN_FDS counts at least one.
func checkSystemdSocket(enabled bool, pid int, listenPID, listenFDs string) error {
	const fix = "start ebpfmon from its .socket unit (which sets LISTEN_PID and LISTEN_FDS), or leave the flag out to bind --web.listen-address"
	switch {
	case !enabled:
		return nil
	case listenPID == "" || listenFDs == "":
		return fmt.Errorf("--web.systemd-socket: LISTEN_PID and LISTEN_FDS are not both set: %s", fix)
	case listenPID != strconv.Itoa(pid):
		return fmt.Errorf("--web.systemd-socket: LISTEN_PID=%s is not this process (%d): the sockets were passed to another process: %s", listenPID, pid, fix)
	}
	if n, err := strconv.Atoi(listenFDs); err != nil || n < 1 {
		return fmt.Errorf("--web.systemd-socket: LISTEN_FDS=%q, want the number of sockets passed (1 or more): %s", listenFDs, fix)
	}
	return nil
}

// maxWebConfigSize bounds --web.config.file, certificates inline and all.
const maxWebConfigSize = 1 << 20

// checkWebConfig reads --web.config.file and the certificates it names,
// so that a mistake in them stops ebpfmon before anything is loaded.
func checkWebConfig(file string) error {
	if file == "" {
		return nil
	}
	// A FIFO or a device in its place would hang the toolkit's read.
	content, err := regfile.Read(file, maxWebConfigSize)
	if err != nil {
		return fmt.Errorf("--web.config.file: %w (want the web config file, or leave the flag out to serve plain HTTP)", err)
	}
	if err := web.Validate(file); err != nil {
		return fmt.Errorf("--web.config.file %s: %w (see the README section \"TLS and basic auth\")", file, err)
	}
	if err := checkWebUsers(content); err != nil {
		return fmt.Errorf("--web.config.file %s: %w", file, err)
	}
	return nil
}

// maxBcryptCost is the costliest password hash accepted: a check at cost
// 14 takes about 0.9 s here, and each cost step doubles it. The toolkit
// runs one check at a time for all clients, so a cost-31 hash would let
// one request with a wrong password hold every other new login for days.
const maxBcryptCost = 14

// checkWebUsers checks what web.Validate leaves to the first login:
// each basic_auth_users hash is cheap enough to check per login, and
// each user name can be sent (basic auth splits at the first ':').
func checkWebUsers(content []byte) error {
	var c struct {
		Users map[string]string `yaml:"basic_auth_users"`
	}
	if err := yaml.Unmarshal(content, &c); err != nil {
		return fmt.Errorf("basic_auth_users: %w", err)
	}
	users := slices.Sorted(maps.Keys(c.Users))
	var errs []error
	for _, user := range users {
		if strings.Contains(user, ":") {
			errs = append(errs, fmt.Errorf("basic_auth_users: user %q has a ':', which basic auth cannot send (the client's user ends at the first ':'): rename the user", user))
		}
		if cost, err := bcrypt.Cost([]byte(c.Users[user])); err == nil && cost > maxBcryptCost {
			errs = append(errs, fmt.Errorf("basic_auth_users: user %q: bcrypt cost %d is over %d (each wrong password would take %s of CPU, one check at a time for all clients): hash the password again with a cost of 10 to %d (htpasswd -nBC 10)",
				user, cost, maxBcryptCost, bcryptCheckTime(cost), maxBcryptCost))
		}
	}
	return errors.Join(errs...)
}

// bcryptCheckTime is roughly how long one check at cost takes, from 57
// ms at cost 10 (measured on this project's 2-core test machine).
func bcryptCheckTime(cost int) time.Duration {
	return (57 * time.Millisecond << (cost - 10)).Round(time.Second)
}

// checkListenAddress checks --web.listen-address is [HOST]:PORT with a
// numeric port, without resolving or binding anything.
func checkListenAddress(addr string) error {
	const want = "want [HOST]:PORT, such as :9435 or 127.0.0.1:9435 or [::1]:9435"
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--web.listen-address %q: %w (%s)", addr, err, want)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || strconv.FormatUint(n, 10) != port {
		return fmt.Errorf("--web.listen-address %q: port %q is not a number from 0 to 65535 (%s)", addr, port, want)
	}
	if host == "" || isHostname(host) {
		return nil
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("--web.listen-address %q: host %q is neither an IP address nor a host name (%s)", addr, host, want)
	}
	return nil
}

// isHostname reports whether s is a DNS name: dot-separated labels of
// letters, digits and inner hyphens. A name made only of digits and dots
// is left to the IP address parser.
func isHostname(s string) bool {
	if len(s) > 253 || strings.Trim(s, "0123456789.") == "" {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !isAlnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

func isAlnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// pathPunctuation are the characters a telemetry path may hold besides
// letters, digits and "/": RFC 3986's unreserved and sub-delims, less
// what net/http patterns treat specially ({ } %).
const pathPunctuation = "-._~!$&'()*+,;=:@"

// checkTelemetryPath checks --web.telemetry-path can be served beside the
// landing page at "/" (and /maps with --debug): an absolute, clean path of
// plain characters.
func checkTelemetryPath(p string, debug bool) error {
	const want = "want an absolute path such as /metrics"
	switch {
	case p == "":
		return fmt.Errorf("--web.telemetry-path is empty (%s)", want)
	case p[0] != '/':
		return fmt.Errorf("--web.telemetry-path %q does not start with / (%s)", p, want)
	case p == "/":
		return fmt.Errorf("--web.telemetry-path %q is the landing page (%s)", p, want)
	case strings.HasPrefix(p, "/-/"):
		return fmt.Errorf("--web.telemetry-path %q: /-/ holds /-/healthy, /-/ready and /-/reload (%s)", p, want)
	case p == statusPath || p == statusPath+"/":
		return fmt.Errorf("--web.telemetry-path %q is where the status page is served (%s)", p, want)
	case debug && (p == debugPath || p == debugPath+"/"):
		return fmt.Errorf("--web.telemetry-path %q is where --debug serves the maps (%s)", p, want)
	case debug && (p+"/" == pprofPath || strings.HasPrefix(p, pprofPath)):
		return fmt.Errorf("--web.telemetry-path %q is where --debug serves Go's profiles (%s)", p, want)
	case strings.IndexFunc(p, func(c rune) bool { return !isAlnum(c) && c != '/' && !strings.ContainsRune(pathPunctuation, c) }) >= 0:
		return fmt.Errorf("--web.telemetry-path %q: use only letters, digits, / and %s", p, pathPunctuation)
	case p != path.Clean(p) && (path.Clean(p) == "/" || p != path.Clean(p)+"/"):
		return fmt.Errorf("--web.telemetry-path %q is not a clean path (no //, /./ or /../; %s)", p, want)
	}
	return nil
}

// checkNamespace checks --metrics.namespace is empty or can start a metric
// name (it is joined to each name with "_"). Colons are left to recording
// rules.
func checkNamespace(ns string) error {
	if ns == "" {
		return nil
	}
	for i, c := range ns {
		if c == '_' || isAlnum(c) && !(i == 0 && c >= '0' && c <= '9') {
			continue
		}
		return fmt.Errorf("--metrics.namespace %q: want letters, digits and _ (not first a digit), such as ebpfmon, or empty for none", ns)
	}
	return nil
}

// checkPinFlags checks --bpf.pin-path is on a bpf filesystem (without
// creating it) and --bpf.reset-pins comes with it.
func checkPinFlags(dir string, reset bool) error {
	if dir == "" {
		if reset {
			return errors.New("--bpf.reset-pins without --bpf.pin-path: give the directory whose pins to remove, or leave --bpf.reset-pins out")
		}
		return nil
	}
	return lifecycle.CheckPinPath(dir)
}

func checkAtLeast(flag string, v, lowest int, hint string) error {
	if v < lowest {
		return fmt.Errorf("%s %d: want %d or more (%s)", flag, v, lowest, hint)
	}
	return nil
}

// maxScrapeTimeout bounds --web.scrape-timeout: far above any scrape
// interval, low enough that the response deadline derived from it cannot
// overflow (an overflowed, negative one would disable it).
const maxScrapeTimeout = time.Hour

func checkScrapeTimeout(d time.Duration) error {
	switch {
	case d <= 0:
		return fmt.Errorf("--web.scrape-timeout %s: want a positive duration such as 30s", d)
	case d > maxScrapeTimeout:
		return fmt.Errorf("--web.scrape-timeout %s: want at most %s", d, maxScrapeTimeout)
	}
	return nil
}

// flagValue is a kingpin.Value whose parse error names its flag and says
// what it wants: kingpin's own say neither ("strconv.ParseFloat: parsing
// \"abc\"") and its int flags accept fractions and wrap on overflow.
type flagValue struct {
	flag, want string
	set        func(string) error
	str        func() string
}

func (v *flagValue) Set(s string) error {
	if err := v.set(s); err != nil {
		return fmt.Errorf("--%s %q: want %s", v.flag, s, v.want)
	}
	return nil
}

func (v *flagValue) String() string { return v.str() }

// intValue parses a decimal int into p.
func intValue(flag string, p *int) *flagValue {
	return &flagValue{flag: flag, want: "a whole number such as 40",
		set: func(s string) (err error) { *p, err = strconv.Atoi(s); return err },
		str: func() string { return strconv.Itoa(*p) }}
}

// durationValue parses a Go duration into p.
func durationValue(flag string, p *time.Duration) *flagValue {
	return &flagValue{flag: flag, want: "a duration such as 30s",
		set: func(s string) (err error) { *p, err = time.ParseDuration(s); return err },
		str: func() string { return p.String() }}
}
