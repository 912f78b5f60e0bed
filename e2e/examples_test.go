package e2e

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
	"github.com/ebpfmon/ebpfmon/usdt"
)

// exercise generates an example's events until its metrics show them,
// asserts on the labels and values, and returns the scrape it checked.
// before is a scrape taken once the example was attached.
type exercise func(t *testing.T, in *instance, before metrics) metrics

// examples maps every bundled example to its exercise.
var examples = map[string]exercise{
	"biolatency":  exerciseBiolatency,
	"blockpci":    exerciseBlockPCI,
	"cpuclock":    exerciseCPUClock,
	"exec":        exerciseExec,
	"getaddrinfo": exerciseGetaddrinfo,
	"kfree_skb":   exerciseKfreeSkb,
	"oomkill":     exerciseOOMKill,
	"pagefaults":  exercisePagefaults,
	"podexec":     exercisePodexec,
	"podnet":      exercisePodnet,
	"podtcp":      exercisePodtcp,
	"procevents":  exerciseProcevents,
	"runqlat":     exerciseRunqlat,
	"softirqs":    exerciseSoftirqs,
	"syscalls":    exerciseSyscalls,
	"tcpconnlat":  exerciseTCPConnlat,
	"tcpstates":   exerciseTCPStates,
	"timers":      exerciseTimers,
	"usdt":        exerciseUSDT,
	"unlinklat":   exerciseUnlinklat,
	"vfsstat":     exerciseVfsstat,
	"xdp":         exerciseXDP,
}

// TestExamples runs each bundled example alone in a real ebpfmon, generates
// its events and checks what /metrics shows: the expected series appear with
// the expected labels and grow, counters never go down, histograms are well
// formed, and ebpfmon reports the config loaded, every program attached and
// no decode errors. An example this kernel cannot load (exampleNeeds) must
// fail, saying why.
func TestExamples(t *testing.T) {
	testenv.Privileged(t)
	requireExamples(t)
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // podexec, podtcp, podnet: no API access, even in a CI pod
	yamls, _ := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	var names []string
	for _, y := range yamls {
		names = append(names, strings.TrimSuffix(filepath.Base(y), ".yaml"))
	}
	if tested := slices.Sorted(maps.Keys(examples)); !slices.Equal(names, tested) {
		t.Errorf("examples/*.yaml are %v, but TestExamples covers %v: add an exercise for each example", names, tested)
	}
	for _, name := range names {
		ex := examples[name]
		if ex == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			if !exerciseHere(t, name) {
				return
			}
			programs := programsOf(t, name)
			counters, histograms := metricsOf(t, name)
			in := start(t, "--config.dir="+examplesDir, "--config.names="+name, "--config.strict")
			before := in.scrape(t)
			checkHealthy(t, before, name, programs)
			after := ex(t, in, before)
			checkHealthy(t, after, name, programs)
			checkFamilies(t, after, counters, histograms)
			checkNeverDown(t, before, after)
			checkHistograms(t, after)
			t.Logf("%s: %d series in %d families", name, countSeries(after, counters, histograms), len(counters)+len(histograms))
		})
	}
}

// TestEveryExampleChecks loads and attaches every example this kernel
// supports at once with --config.check --config.strict, as CI's config
// check does; each of the others must fail with the reason exampleNeeds
// gives.
func TestEveryExampleChecks(t *testing.T) {
	requireExamples(t)
	supported, unsupported := examplesHere(t)
	out, ok := check(t, "--config.dir="+examplesDir, "--config.names="+strings.Join(supported, ","), "--config.strict")
	if !ok {
		t.Fatalf("--config.check --config.strict over examples/ %v failed:\n%s", supported, out)
	}
	for _, name := range unsupported {
		checkUnsupported(t, name)
	}
	for _, name := range supported {
		if !regexp.MustCompile(`msg="config loaded" config=` + name + `(\s|$)`).MatchString(out) {
			t.Errorf("output does not report config %s loaded:\n%s", name, out)
		}
	}
}

// TestLintMetrics serves every example this kernel supports at once,
// generates events for most of them and runs promtool's linter (promlint,
// in process) over a raw scrape, parsed strictly. Any lint problem fails
// the test.
func TestLintMetrics(t *testing.T) {
	testenv.Privileged(t)
	supported, unsupported := examplesHere(t)
	t.Logf("not loadable on this kernel: %v", unsupported)
	in := start(t, "--config.dir="+examplesDir, "--config.names="+strings.Join(supported, ","), "--config.strict")
	dir, _ := diskDir(t)
	qname := fmt.Sprintf("lint-%d.ebpfmon.test", time.Now().UnixNano()%1e9)
	var families []string
	for _, name := range supported {
		if !slices.Contains([]string{"oomkill", "podexec", "podnet", "podtcp"}, name) { // no OOM kill here, no pod: their maps stay empty or skipped
			counters, histograms := metricsOf(t, name)
			families = append(append(families, counters...), histograms...)
		}
	}
	var missing []string
	t.Cleanup(func() {
		if len(missing) > 0 {
			t.Logf("families never served: %v", missing)
		}
	})
	in.eventually(t, "events of every example but oomkill", func() {
		tcpRoundTrip(t, "127.0.0.1")
		tcpRoundTrip(t, "::1")
		run(t, nil, "true")
		run(t, nil, "getent", "ahosts", "localhost")
		writeSync(t, dir, 256<<10)
		sendUDP(t, "127.0.0.1", closedUDPPort(t, "127.0.0.1"), 1, []byte("x"))
		sendUDP(t, "127.0.0.1", 53, 1, dnsQuery(qname))
		spinKernel(t, 50*time.Millisecond)
		killedBySignal(t)                                                // procevents
		run(t, nil, "/usr/bin/python3", "-c", "import gc; gc.collect()") // usdt
	}, func(ms metrics) bool {
		missing = slices.DeleteFunc(slices.Clone(families), func(fam string) bool { return len(ms.series(fam, nil)) > 0 })
		return len(missing) == 0
	})
	body := in.get(t, "/metrics")
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	problems, err := promlint.NewWithMetricFamilies(slices.Collect(maps.Values(fams))).Lint()
	if err != nil {
		t.Fatalf("lint /metrics: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	if len(problems) == 0 {
		t.Logf("lint: clean, %d families, %d lines, %d bytes", len(fams), strings.Count(body, "\n"), len(body))
	}
}

// --- per-example exercises ---

// symbolRE matches a kernel symbol name (foo, foo.cold, __pfx_foo.isra.0).
var symbolRE = regexp.MustCompile(`^[A-Za-z_.][A-Za-z0-9_.$]*$`)

func exerciseTimers(t *testing.T, in *instance, before metrics) metrics {
	const fam = "ebpfmon_timer_starts_total"
	write := map[string]string{"function": "tcp_write_timer"}
	n := 0
	after := in.eventually(t, "tcp_write_timer armed by loopback connections", func() {
		tcpRoundTrip(t, "127.0.0.1")
		n++
	}, watch(t, before, func(ms metrics) bool { return grew(before, ms, fam, write) >= float64(n) }, fam))
	for _, f := range after.labelValues(fam, "function") {
		if !symbolRE.MatchString(f) {
			t.Errorf("%s{function=%q}: not a kernel symbol name (ksym decodes timer callbacks, which start symbols)", fam, f)
		}
	}
	t.Logf("timers: %d functions, tcp_write_timer +%v after %d loopback connections", len(after.series(fam, nil)), grew(before, after, fam, write), n)
	return after
}

func exerciseSyscalls(t *testing.T, in *instance, before metrics) metrics {
	const calls, errs = "ebpfmon_syscalls_total", "ebpfmon_syscall_errors_total"
	openat := map[string]string{"syscall": "openat"}
	enoent := map[string]string{"syscall": "openat", "errno": "ENOENT"}
	missing := filepath.Join(t.TempDir(), "missing")
	n := 0
	after := in.eventually(t, "openat calls failing with ENOENT", func() {
		for range 5 {
			if _, err := os.Open(missing); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("open %s: %v, want ENOENT", missing, err)
			}
			n++
		}
	}, watch(t, before, func(ms metrics) bool {
		return grew(before, ms, calls, openat) >= float64(n) && grew(before, ms, errs, enoent) >= float64(n)
	}, calls, errs))
	var unknown []string
	for _, s := range append(after.labelValues(calls, "syscall"), after.labelValues(errs, "syscall")...) {
		if strings.HasPrefix(s, "unknown_syscall:") {
			unknown = append(unknown, s)
		}
	}
	t.Logf("syscalls: %d syscalls, %d (syscall, errno) pairs; openat +%v, openat/ENOENT +%v after %d failed opens; undecoded: %v",
		len(after.series(calls, nil)), len(after.series(errs, nil)), grew(before, after, calls, openat), grew(before, after, errs, enoent), n, unknown)
	return after
}

func exerciseBiolatency(t *testing.T, in *instance, before metrics) metrics {
	const lat, size = "ebpfmon_bio_latency_seconds", "ebpfmon_bio_size_bytes"
	const chunk = 1 << 20
	write, disk := blockTarget(t)
	w := map[string]string{"device": disk, "operation": "write"}
	n := 0
	after := in.eventually(t, "writes to "+disk, func() {
		write(chunk)
		n++
	}, watch(t, before, func(ms metrics) bool {
		return grew(before, ms, lat, w) >= 1 && grew(before, ms, size, w) >= 1 &&
			sumGrew(before, ms, size, w) >= float64(n*chunk) && sumGrew(before, ms, lat, w) > 0
	}, lat, size))
	checkBounds(t, after, lat, exp2Bounds(0, 26, 1e-6))
	checkBounds(t, after, size, linearBounds(0, 64, 4096))
	t.Logf("biolatency: %d+%d series; %s writes: latency count +%v (sum +%.6fs), size count +%v (sum +%v bytes) after %d writes of %d bytes",
		len(after.series(lat, nil)), len(after.series(size, nil)), disk, grew(before, after, lat, w), sumGrew(before, after, lat, w),
		grew(before, after, size, w), sumGrew(before, after, size, w), n, chunk)
	return after
}

func exerciseBlockPCI(t *testing.T, in *instance, before metrics) metrics {
	const fam = "ebpfmon_block_requests_by_pci_device_total"
	dir, disk := diskDir(t)
	pci := pciOfDisk(t, disk)
	match := map[string]string{"vendor": pci.vendor, "device": pci.device, "class": pci.class, "subclass": pci.subclass}
	n := 0
	after := in.eventually(t, fmt.Sprintf("requests to %s on %+v", disk, pci), func() {
		writeSync(t, dir, 256<<10)
		n++
	}, watch(t, before, func(ms metrics) bool { return grew(before, ms, fam, match) >= float64(n) }, fam))
	t.Logf("blockpci: %s is %+v: +%v requests after %d fsync'd writes", disk, pci, grew(before, after, fam, match), n)
	return after
}

func exerciseRunqlat(t *testing.T, in *instance, before metrics) metrics {
	const fam = "ebpfmon_run_queue_latency_seconds"
	n := 0
	after := in.eventually(t, "run queue latencies of woken tasks", func() {
		run(t, nil, "sleep", "0.01")
		time.Sleep(10 * time.Millisecond)
		n++
	}, watch(t, before, func(ms metrics) bool {
		return grew(before, ms, fam, nil) >= float64(n) && sumGrew(before, ms, fam, nil) > 0
	}, fam))
	if got := len(after.series(fam, nil)); got != 1 {
		t.Errorf("%s: %d series, want 1 (no labels, CPUs summed)", fam, got)
	}
	checkBounds(t, after, fam, exp2Bounds(0, 26, 1e-6))
	t.Logf("runqlat: count +%v, sum +%.6fs after %d sleeps", grew(before, after, fam, nil), sumGrew(before, after, fam, nil), n)
	return after
}

// execAllowed is the allowlist of exec.yaml's regexps.
var execAllowed = regexp.MustCompile(`^(?:sh|bash|dash|true|false|env|sleep|cat|ls|id|uname)$|^python3?(?:\.[0-9]+)?$|^ebpfmon.*$`)

func exerciseExec(t *testing.T, in *instance, before metrics) metrics {
	const byComm, byCgroup = "ebpfmon_execs_total", "ebpfmon_execs_by_cgroup_total"
	// An exec in the current cgroup first, so that the cgroup decoder has
	// just walked the hierarchy when the new cgroup's first exec comes, as
	// on any host that runs programs all the time.
	run(t, nil, "true")
	in.eventually(t, "exec of true", nil, func(ms metrics) bool {
		return grew(before, ms, byComm, map[string]string{"comm": "true"}) >= 1
	})

	v2root, _ := cgroupMounts(t)
	dir := newCgroup(t, v2root, "exec")
	path := "/" + strings.TrimPrefix(dir, v2root+"/")
	attr := intoCgroup(t, dir)
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	trueComm := map[string]string{"comm": "true"}
	inCgroup := map[string]string{"cgroup": path}
	// What the cgroup decoder gives for an id it could not find.
	unknown := map[string]string{"cgroup": fmt.Sprintf("unknown_cgroup_id:%d", st.Ino)}
	var last metrics
	t.Cleanup(func() {
		if t.Failed() && last.sum(byCgroup, unknown) > 0 {
			t.Logf("cgroup %s exists but decodes as %s: the cgroup resolver did not walk on seeing a new id, "+
				"and the exporter caches a key's decoding while the key is in the map", path, unknown["cgroup"])
		}
	})
	n := 0
	after := in.eventually(t, "execs in cgroup "+path, func() {
		run(t, attr, "true")
		run(t, attr, "echo", "not in the allowlist")
		n++
	}, watch(t, before, func(ms metrics) bool {
		last = ms
		return grew(before, ms, byComm, trueComm) >= float64(n+1) && ms.sum(byCgroup, inCgroup) >= float64(2*n)
	}, byComm, byCgroup))
	if got := after.sum(byCgroup, unknown); got > 0 {
		t.Errorf("%s{cgroup=%q} = %v: cgroup %s exists", byCgroup, unknown["cgroup"], got, path)
	}
	if got := after.sum(byCgroup, inCgroup); got != float64(2*n) {
		t.Errorf("%s{cgroup=%q} = %v, want %d: the execs of true and echo in it", byCgroup, path, got, 2*n)
	}
	for _, c := range after.labelValues(byComm, "comm") {
		if !execAllowed.MatchString(c) {
			t.Errorf("%s{comm=%q}: exported, but not in exec.yaml's allowlist", byComm, c)
		}
	}
	t.Logf("exec: comms %v; true +%v; %s{cgroup=%q} = %v after %d true + %d echo in it",
		after.labelValues(byComm, "comm"), grew(before, after, byComm, trueComm), byCgroup, path, after.sum(byCgroup, inCgroup), n, n)
	return after
}

func exerciseOOMKill(t *testing.T, in *instance, before metrics) metrics {
	const fam = "ebpfmon_oom_kills_total"
	path := oomKill(t)
	match := map[string]string{"cgroup": path}
	after := in.eventually(t, "OOM kill in "+path, nil, watch(t, before, func(ms metrics) bool { return ms.sum(fam, match) >= 1 }, fam))
	if got := after.sum(fam, match); got != 1 {
		t.Errorf("%s{cgroup=%q} = %v, want 1", fam, path, got)
	}
	t.Logf("oomkill: %s{cgroup=%q} = %v after one hog killed at 32 MiB", fam, path, after.sum(fam, match))
	return after
}

// exercisePodexec runs execs in two containers of a fake pod
// (kubepods/pod<uid>/<container id>, no API access: the pod is its UID, the
// namespace empty, the container its id) and in no pod, then OOM-kills a
// hog in a third container of the pod. The counts must be exact, and the
// execs in no pod left out (not_pod: skip).
func exercisePodexec(t *testing.T, in *instance, before metrics) metrics {
	const execs, kills = "ebpfmon_pod_execs_total", "ebpfmon_pod_oom_kills_total"
	const uid = "5f0c2d9e-7a41-4b6e-8d3c-1e2f3a4b5c6d"
	root, _ := cgroupMounts(t)
	pod := subCgroup(t, newCgroup(t, root, "kubepods"), "pod"+uid)
	ids := [3]string{strings.Repeat("a1", 32), strings.Repeat("b2", 32), strings.Repeat("c3", 32)}
	a, b, hog := subCgroup(t, pod, ids[0]), subCgroup(t, pod, ids[1]), subCgroup(t, pod, ids[2])
	inA, inB := intoCgroup(t, a), intoCgroup(t, b)
	label := func(cid string) map[string]string {
		return map[string]string{"namespace": "", "pod": uid, "container": cid}
	}
	n := 0
	after := in.eventually(t, "execs in two containers of pod "+uid, func() {
		run(t, inA, "true")
		run(t, inA, "true")
		run(t, inB, "true")
		run(t, nil, "true")
		n++
	}, watch(t, before, func(ms metrics) bool {
		return ms.sum(execs, label(ids[0])) >= float64(2*n) && ms.sum(execs, label(ids[1])) >= float64(n)
	}, execs))
	for i, want := range []int{2 * n, n} {
		if got := after.sum(execs, label(ids[i])); got != float64(want) {
			t.Errorf("%s%v = %v, want %d", execs, label(ids[i]), got, want)
		}
	}
	// Only the fake pod's series: real pods may run on the host (the k8s lab).
	ours := map[string]string{"pod": uid}
	if got, want := len(after.series(execs, ours)), 2; got != want {
		t.Errorf("%s{pod=%q}: %d series, want %d, the fake pod's two containers", execs, uid, got, want)
	}
	for _, m := range after.series(execs, nil) {
		if labelValue(m, "pod") == "" {
			t.Errorf("%s{%s}: an exec in no pod, want it left out (not_pod: skip)", execs, seriesID(m))
		}
	}
	oomKillIn(t, hog)
	after = in.eventually(t, "OOM kill in pod "+uid, nil, watch(t, before, func(ms metrics) bool {
		return ms.sum(kills, label(ids[2])) >= 1
	}, kills))
	if got := after.sum(kills, label(ids[2])); got != 1 || len(after.series(kills, ours)) != 1 {
		t.Errorf("%s%v = %v in %d series, want 1 in 1", kills, label(ids[2]), got, len(after.series(kills, ours)))
	}
	t.Logf("podexec: %s = %v and %v after %d rounds of 2+1 execs in two containers (+%d in no pod, skipped); %s = %v",
		execs, after.sum(execs, label(ids[0])), after.sum(execs, label(ids[1])), n, n, kills, after.sum(kills, label(ids[2])))
	return after
}

// unknownPeer is what peer_pod gives for 127.0.0.1 (no pod, no service;
// no API access here anyway): the default unknown_peer.
const unknownPeer = "external"

// exercisePodtcp connects from two containers of a fake pod (and from no
// pod) to a listener on 127.0.0.1, then from the first container to a
// listener whose accept queue is full, so that its SYN is retransmitted
// and the connect given up. Connects and connect latencies must be exact
// per container, with the peer and the port; the retransmit counted for
// the first container.
func exercisePodtcp(t *testing.T, in *instance, before metrics) metrics {
	const connects, retransmits, latency = "ebpfmon_pod_tcp_connects_total", "ebpfmon_pod_tcp_retransmits_total", "ebpfmon_pod_tcp_connect_latency_seconds"
	const uid = "0b7e5a31-2c4d-4f8e-9a6b-7c8d9e0f1a2b"
	ids := []string{strings.Repeat("d4", 32), strings.Repeat("e5", 32)}
	attrs := fakePod(t, uid, ids...)
	open := acceptAll(t)
	openPort := strconv.Itoa(open)
	wants := []int{3, 2}
	for i, n := range wants {
		h := startHelper(t, attrs[i], "connect", net.JoinHostPort("127.0.0.1", openPort), strconv.Itoa(n), "10s")
		for range n {
			if got := h.line(t); got != "ok" {
				t.Fatalf("connect to 127.0.0.1:%d from container %d: %s", open, i, got)
			}
		}
		h.wait(t)
	}
	tcpRoundTrip(t, "127.0.0.1") // in no pod: left out
	conn := func(i int, port string) map[string]string {
		return podLabels(uid, ids[i], "peer", unknownPeer, "port", port)
	}
	after := in.eventually(t, "connects from two containers of pod "+uid, nil, watch(t, before, func(ms metrics) bool {
		return ms.sum(connects, conn(0, openPort)) >= 3 && ms.sum(connects, conn(1, openPort)) >= 2 &&
			ms.sum(latency, podLabels(uid, ids[0])) >= 3 && ms.sum(latency, podLabels(uid, ids[1])) >= 2
	}, connects, latency))
	for i, want := range wants {
		if got := after.sum(connects, conn(i, openPort)); got != float64(want) {
			t.Errorf("%s%v = %v, want %d", connects, conn(i, openPort), got, want)
		}
		if got := after.sum(latency, podLabels(uid, ids[i])); got != float64(want) {
			t.Errorf("%s_count%v = %v, want %d", latency, podLabels(uid, ids[i]), got, want)
		}
	}
	if got := len(after.series(connects, map[string]string{"pod": uid})); got != 2 {
		t.Errorf("%s{pod=%q}: %d series, want 2 (a connect from no pod is left out)", connects, uid, got)
	}

	// The first connect waits in the accept queue; the kernel drops the
	// second one's SYN, which is sent again after the initial RTO (1s;
	// again 1s later on 6.7+, tcp_syn_linear_timeouts), and given up at
	// 2.5s.
	full := strconv.Itoa(listenBacklog0(t))
	h := startHelper(t, attrs[0], "connect", net.JoinHostPort("127.0.0.1", full), "2", "2500ms")
	if first, second := h.line(t), h.line(t); first != "ok" || second != "timeout" {
		t.Fatalf("connects to a full accept queue: %s, %s; want ok, timeout", first, second)
	}
	h.wait(t)
	retransmitted := podLabels(uid, ids[0], "peer", unknownPeer)
	after = in.eventually(t, "a SYN retransmitted from container "+ids[0], nil, watch(t, before, func(ms metrics) bool {
		return ms.sum(retransmits, retransmitted) >= 1 && ms.sum(connects, conn(0, full)) >= 2
	}, retransmits, connects))
	if got := after.sum(connects, conn(0, full)); got != 2 {
		t.Errorf("%s%v = %v, want 2 (connects are counted when the SYN is sent)", connects, conn(0, full), got)
	}
	if got := after.sum(latency, podLabels(uid, ids[0])); got != 4 {
		t.Errorf("%s_count%v = %v, want 4: the given-up connect has no latency", latency, podLabels(uid, ids[0]), got)
	}
	if got := after.series(retransmits, map[string]string{"pod": uid}); len(got) != 1 {
		t.Errorf("%s{pod=%q}: %d series, want 1 (container %s)", retransmits, uid, len(got), ids[0])
	}
	t.Logf("podtcp: connects %v and %v, latency counts %v and %v (sum %.6fs); %s%v = %v after a SYN dropped for 2.5s",
		after.sum(connects, conn(0, openPort)), after.sum(connects, conn(1, openPort)),
		after.sum(latency, podLabels(uid, ids[0])), after.sum(latency, podLabels(uid, ids[1])), sumGrew(before, after, latency, map[string]string{"pod": uid}),
		retransmits, retransmitted, after.sum(retransmits, retransmitted))
	return after
}

// Families of podnet, and the transfer exercisePodnet makes.
const (
	netTxBytes   = "ebpfmon_pod_network_transmit_bytes_total"
	netTxPackets = "ebpfmon_pod_network_transmit_packets_total"
	netRxBytes   = "ebpfmon_pod_network_receive_bytes_total"
	netRxPackets = "ebpfmon_pod_network_receive_packets_total"
	// Messages of podnetSize bytes, one packet each.
	podnetCount, podnetSize = 20000, 1000
	// IPv4 + TCP headers: 20 + 20 bytes at least, 60 + 60 at most.
	minHeaders, maxHeaders = 40, 120
)

// exercisePodnet sends podnetCount messages of podnetSize bytes from
// container A of a fake pod to a server in its container B (each answered
// with one byte), and a few to a second server there, while three ebpfmons
// count: the example as it is (in: every packet), one with sample_every 10
// and one with port set to the first server's.
//
// Every packet of a connection reaches a socket that is open (the client
// half-closes, reads the server's FIN, then closes), so with every packet
// counted the bytes and packets A sends on a connection are exactly those
// B receives on it and the other way round. Bytes are IP bytes: the
// payload plus 40 to 120 header bytes per packet.
func exercisePodnet(t *testing.T, in *instance, before metrics) metrics {
	const uid = "7d3f9b2e-5a6c-4e1d-8f0a-2b3c4d5e6f70"
	ids := []string{strings.Repeat("f6", 32), strings.Repeat("a7", 32)}
	attrs := fakePod(t, uid, ids...)
	servers := [2]*helper{startHelper(t, attrs[1], "serve", strconv.Itoa(podnetSize)), startHelper(t, attrs[1], "serve", "10")}
	ports := [2]int{servers[0].number(t, "port"), servers[1].number(t, "port")}
	sampled := start(t, "--config.dir="+podnetConfig(t, 10, 0), "--config.names=podnet", "--config.strict")
	filtered := start(t, "--config.dir="+podnetConfig(t, 1, ports[0]), "--config.names=podnet", "--config.strict")

	var clientPorts [2]int
	for i, msgs := range [][2]int{{podnetCount, podnetSize}, {10, 10}} {
		c := startHelper(t, attrs[0], "send", net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i])), strconv.Itoa(msgs[0]), strconv.Itoa(msgs[1]))
		clientPorts[i] = c.number(t, "port")
		c.wait(t)
		if got := servers[i].number(t, "read"); got != msgs[0]*msgs[1] {
			t.Fatalf("server %d read %d bytes, want %d", i, got, msgs[0]*msgs[1])
		}
		servers[i].wait(t)
	}
	// The flows of the first connection: A to B (to the server's port),
	// B to A (to the client's).
	aToB := func(fam string) map[string]string {
		id := ids[0]
		if fam == netRxBytes || fam == netRxPackets {
			id = ids[1]
		}
		return podLabels(uid, id, "peer", unknownPeer, "port", strconv.Itoa(ports[0]))
	}
	bToA := func(fam string) map[string]string {
		id := ids[1]
		if fam == netRxBytes || fam == netRxPackets {
			id = ids[0]
		}
		return podLabels(uid, id, "peer", unknownPeer, "port", strconv.Itoa(clientPorts[0]))
	}
	settled := func(ms metrics) bool {
		for _, flow := range []func(string) map[string]string{aToB, bToA} {
			if ms.sum(netTxBytes, flow(netTxBytes)) == 0 || ms.sum(netTxBytes, flow(netTxBytes)) != ms.sum(netRxBytes, flow(netRxBytes)) ||
				ms.sum(netTxPackets, flow(netTxPackets)) != ms.sum(netRxPackets, flow(netRxPackets)) {
				return false
			}
		}
		return true
	}
	after := in.eventually(t, "bytes sent by container A received by container B, and back", nil,
		watch(t, before, settled, netTxBytes, netRxBytes, netTxPackets, netRxPackets))
	for _, f := range []struct {
		flow    func(string) map[string]string
		payload int
	}{{aToB, podnetCount * podnetSize}, {bToA, podnetCount}} {
		bytes, packets := after.sum(netTxBytes, f.flow(netTxBytes)), after.sum(netTxPackets, f.flow(netTxPackets))
		if packets < podnetCount || bytes < float64(f.payload)+minHeaders*packets || bytes > float64(f.payload)+maxHeaders*packets {
			t.Errorf("%s%v = %v in %v packets: want at least %d packets, and %d payload bytes plus %d to %d per packet",
				netTxBytes, f.flow(netTxBytes), bytes, packets, podnetCount, f.payload, minHeaders, maxHeaders)
		}
	}
	checkSampled(t, after, sampled.scrape(t), aToB, podnetSize+maxHeaders)
	checkSampled(t, after, sampled.scrape(t), bToA, 1+maxHeaders)
	checkPortFilter(t, after, filtered, uid, ports, clientPorts)
	t.Logf("podnet: A to B %v bytes in %v packets (payload %d), B to A %v bytes in %v packets (payload %d)",
		after.sum(netTxBytes, aToB(netTxBytes)), after.sum(netTxPackets, aToB(netTxPackets)), podnetCount*podnetSize,
		after.sum(netTxBytes, bToA(netTxBytes)), after.sum(netTxPackets, bToA(netTxPackets)), podnetCount)
	return after
}

// checkSampled compares the counts of an ebpfmon with sample_every 10 to
// the exact ones of the same traffic.
//
// The bound: with 1 packet in N counted, each as N packets of N times its
// size s, the estimate X of a total T = sum(s) is a sum of independent
// terms N*s*B (B = 1 with probability 1/N), so E[X] = T and
// Var[X] = (N-1) * sum(s^2) <= (N-1) * smax * T. Here N = 10, smax is the
// largest packet of the flow, podnetSize+maxHeaders = 1120 from A to B
// (each message is one packet: nothing is queued when it is written), and
// T is about 21 MB: sigma <= 0.46 MB, 2.2% of T. The test allows 6 sigma. Bernstein's inequality (each term is off
// by at most (N-1)*smax = 10 KB, far below 6 sigma) puts the chance of a
// larger error below 1e-7 per total, without assuming normality. Packets
// are the case s = 1: sigma = sqrt(9 * packets), about 2.1%.
func checkSampled(t *testing.T, exact, sampled metrics, flow func(string) map[string]string, smax float64) {
	t.Helper()
	const every, sigmas = 10, 6
	{
		for _, f := range []struct {
			fam  string
			smax float64
		}{{netTxBytes, smax}, {netRxBytes, smax}, {netTxPackets, 1}, {netRxPackets, 1}} {
			want, got := exact.sum(f.fam, flow(f.fam)), sampled.sum(f.fam, flow(f.fam))
			bound := sigmas * math.Sqrt((every-1)*f.smax*want)
			if math.Abs(got-want) > bound {
				t.Errorf("sample_every 10: %s%v = %v, exact %v: off by %.0f, more than %d sigma (%.0f)", f.fam, flow(f.fam), got, want, got-want, sigmas, bound)
			} else {
				t.Logf("sample_every 10: %s%v = %v, exact %v (%+.2f%%, bound %.2f%%)", f.fam, flow(f.fam), got, want, 100*(got-want)/want, 100*bound/want)
			}
		}
	}
}

// checkPortFilter asserts that the ebpfmon counting only port ports[0]
// has exactly the exact counts of the first connection's flows, and none
// of the second connection's (to ports[1], from clientPorts[1]).
func checkPortFilter(t *testing.T, exact metrics, filtered *instance, uid string, ports, clientPorts [2]int) {
	t.Helper()
	ms := filtered.scrape(t)
	kept := map[string]bool{strconv.Itoa(ports[0]): true, strconv.Itoa(clientPorts[0]): true}
	for _, fam := range []string{netTxBytes, netTxPackets, netRxBytes, netRxPackets} {
		n := 0
		for _, m := range ms.series(fam, map[string]string{"pod": uid}) {
			labels := map[string]string{}
			for _, lp := range m.Label {
				labels[lp.GetName()] = lp.GetValue()
			}
			if !kept[labels["port"]] {
				t.Errorf("port %d: %s{%s} = %v: counted, but neither port is %d", ports[0], fam, seriesID(m), m.GetCounter().GetValue(), ports[0])
				continue
			}
			n++
			if want := exact.sum(fam, labels); m.GetCounter().GetValue() != want {
				t.Errorf("port %d: %s{%s} = %v, want %v as with every port", ports[0], fam, seriesID(m), m.GetCounter().GetValue(), want)
			}
		}
		if n != 2 {
			t.Errorf("port %d: %s{pod=%q}: %d series, want 2 (the sender's and the receiver's side of the connection)", ports[0], fam, uid, n)
		}
	}
}

// podnetConfig writes podnet.yaml with the constants sample_every and
// port, and its object, into a new directory, and returns it.
func podnetConfig(t *testing.T, every, port int) string {
	t.Helper()
	dir := t.TempDir()
	yaml := readFile(t, filepath.Join(examplesDir, "podnet.yaml"))
	for _, c := range []struct{ from, to string }{{"\n  sample_every: 1\n", fmt.Sprintf("\n  sample_every: %d\n", every)}, {"\n  port: 0\n", fmt.Sprintf("\n  port: %d\n", port)}} {
		if !strings.Contains(yaml, c.from) {
			t.Fatalf("podnet.yaml does not set %q", strings.TrimSpace(c.from))
		}
		yaml = strings.Replace(yaml, c.from, c.to, 1)
	}
	writeFile(t, filepath.Join(dir, "podnet.yaml"), yaml)
	writeFile(t, filepath.Join(dir, "podnet.bpf.o"), readFile(t, filepath.Join(examplesDir, "podnet.bpf.o")))
	return dir
}

// tcpTransitions are what a connect, accept, client close, server close
// over loopback go through, on both sockets.
var tcpTransitions = [][2]string{
	{"CLOSE", "LISTEN"},
	{"CLOSE", "SYN_SENT"},
	{"SYN_SENT", "ESTABLISHED"},
	{"LISTEN", "SYN_RECV"},
	{"SYN_RECV", "ESTABLISHED"},
	{"ESTABLISHED", "FIN_WAIT1"},
	{"ESTABLISHED", "CLOSE_WAIT"},
	{"CLOSE_WAIT", "LAST_ACK"},
}

func exerciseTCPStates(t *testing.T, in *instance, before metrics) metrics {
	const states, established = "ebpfmon_tcp_state_transitions_total", "ebpfmon_tcp_established_total"
	families := map[string]string{"ipv4": "127.0.0.1", "ipv6": "::1"}
	n := 0
	after := in.eventually(t, "TCP transitions over 127.0.0.1 and ::1", func() {
		tcpRoundTrip(t, "127.0.0.1")
		tcpRoundTrip(t, "::1")
		n++
	}, watch(t, before, func(ms metrics) bool {
		for family, peer := range families {
			for _, tr := range tcpTransitions {
				if grew(before, ms, states, map[string]string{"family": family, "old_state": tr[0], "new_state": tr[1]}) < float64(n) {
					return false
				}
			}
			for _, dir := range []string{"active", "passive"} {
				if grew(before, ms, established, map[string]string{"peer": peer, "direction": dir}) < float64(n) {
					return false
				}
			}
		}
		return true
	}, states, established))
	for family, peer := range families {
		syn := grew(before, after, states, map[string]string{"family": family, "old_state": "SYN_SENT", "new_state": "ESTABLISHED"})
		act := grew(before, after, established, map[string]string{"peer": peer, "direction": "active"})
		pas := grew(before, after, established, map[string]string{"peer": peer, "direction": "passive"})
		t.Logf("tcpstates: %s SYN_SENT->ESTABLISHED +%v, peer %s active +%v passive +%v after %d connections", family, syn, peer, act, pas, n)
	}
	t.Logf("tcpstates: %d transition series, %d established series", len(after.series(states, nil)), len(after.series(established, nil)))
	return after
}

func exerciseTCPConnlat(t *testing.T, in *instance, before metrics) metrics {
	const fam = "ebpfmon_tcp_connect_latency_seconds"
	v4, v6 := map[string]string{"family": "ipv4"}, map[string]string{"family": "ipv6"}
	n := 0
	after := in.eventually(t, "connect latencies over 127.0.0.1 and ::1", func() {
		tcpRoundTrip(t, "127.0.0.1")
		tcpRoundTrip(t, "::1")
		n++
	}, watch(t, before, func(ms metrics) bool {
		return grew(before, ms, fam, v4) >= float64(n) && grew(before, ms, fam, v6) >= float64(n) &&
			sumGrew(before, ms, fam, v4) > 0 && sumGrew(before, ms, fam, v6) > 0
	}, fam))
	checkBounds(t, after, fam, fixedBounds(1e-6, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 3000000))
	t.Logf("tcpconnlat: ipv4 +%v (sum +%.6fs), ipv6 +%v (sum +%.6fs) after %d connects each",
		grew(before, after, fam, v4), sumGrew(before, after, fam, v4), grew(before, after, fam, v6), sumGrew(before, after, fam, v6), n)
	return after
}

// softirqVectors are the names softirqs.yaml gives the kernel's vectors.
var softirqVectors = []string{"hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu"}

func exerciseSoftirqs(t *testing.T, in *instance, before metrics) metrics {
	const runs, dur = "ebpfmon_softirqs_total", "ebpfmon_softirq_duration_seconds"
	netRX, timer := map[string]string{"vector": "net_rx"}, map[string]string{"vector": "timer"}
	n := 0
	after := in.eventually(t, "net_rx softirqs from loopback traffic, timer softirqs", func() {
		sendUDP(t, "127.0.0.1", closedUDPPort(t, "127.0.0.1"), 10, []byte("x"))
		tcpRoundTrip(t, "127.0.0.1")
		n++
	}, watch(t, before, func(ms metrics) bool {
		return grew(before, ms, runs, netRX) >= 1 && grew(before, ms, dur, netRX) >= 1 &&
			grew(before, ms, runs, timer) >= 1 && grew(before, ms, dur, timer) >= 1
	}, runs, dur))
	// An array map: every slot is a series, zero or not.
	if got := slices.Sorted(slices.Values(after.labelValues(runs, "vector"))); !slices.Equal(got, slices.Sorted(slices.Values(softirqVectors))) {
		t.Errorf("%s vectors %v, want all of %v", runs, got, softirqVectors)
	}
	checkBounds(t, after, dur, exp2ZeroBounds(0, 20, 1e-6))
	t.Logf("softirqs: net_rx +%v, timer +%v runs; durations net_rx +%v, timer +%v after %d rounds of loopback traffic",
		grew(before, after, runs, netRX), grew(before, after, runs, timer), grew(before, after, dur, netRX), grew(before, after, dur, timer), n)
	return after
}

func exercisePagefaults(t *testing.T, in *instance, before metrics) metrics {
	const fam = "ebpfmon_page_faults_total"
	const pages = 256
	userWrite := map[string]string{"mode": "user", "access": "write"}
	kernelWrite := map[string]string{"mode": "kernel", "access": "write"}
	userExec := map[string]string{"mode": "user", "access": "exec"}
	n := 0
	after := in.eventually(t, "user, kernel and exec page faults", func() {
		faultPages(t, pages, false)
		faultPages(t, pages, true)
		run(t, nil, "true")
		n++
	}, watch(t, before, func(ms metrics) bool {
		return grew(before, ms, fam, userWrite) >= float64(n*pages) && grew(before, ms, fam, kernelWrite) >= float64(n*pages) &&
			grew(before, ms, fam, userExec) >= float64(n)
	}, fam))
	checkCPUSplit(t, after, fam, onlineCPUs(t))
	t.Logf("pagefaults: %d series; user write +%v, kernel write +%v, user exec +%v after %d x (%d pages touched, %d pages read into, exec true)",
		len(after.series(fam, nil)), grew(before, after, fam, userWrite), grew(before, after, fam, kernelWrite), grew(before, after, fam, userExec), n, pages, pages)
	return after
}

func exerciseKfreeSkb(t *testing.T, in *instance, before metrics) metrics {
	const reasons, locations = "ebpfmon_kfree_skb_total", "ebpfmon_kfree_skb_by_location_total"
	v4 := map[string]string{"reason": "NO_SOCKET", "protocol": "ipv4"}
	v6 := map[string]string{"reason": "NO_SOCKET", "protocol": "ipv6"}
	udp4, udp6 := map[string]string{"location": "__udp4_lib_rcv"}, map[string]string{"location": "__udp6_lib_rcv"}
	n := 0
	after := in.eventually(t, "UDP to closed ports dropped with NO_SOCKET", func() {
		sendUDP(t, "127.0.0.1", closedUDPPort(t, "127.0.0.1"), 3, []byte("x"))
		sendUDP(t, "::1", closedUDPPort(t, "::1"), 3, []byte("x"))
		n += 3
	}, watch(t, before, func(ms metrics) bool {
		return grew(before, ms, reasons, v4) >= float64(n) && grew(before, ms, reasons, v6) >= float64(n) &&
			grew(before, ms, locations, udp4) >= float64(n) && grew(before, ms, locations, udp6) >= float64(n)
	}, reasons, locations))
	t.Logf("kfree_skb: reasons %v, locations %v; NO_SOCKET ipv4 +%v ipv6 +%v, __udp4_lib_rcv +%v __udp6_lib_rcv +%v after %d datagrams each",
		after.labelValues(reasons, "reason"), after.labelValues(locations, "location"),
		grew(before, after, reasons, v4), grew(before, after, reasons, v6), grew(before, after, locations, udp4), grew(before, after, locations, udp6), n)
	return after
}

func exerciseGetaddrinfo(t *testing.T, in *instance, before metrics) metrics {
	const calls, lat = "ebpfmon_getaddrinfo_calls_total", "ebpfmon_getaddrinfo_latency_seconds"
	getent := map[string]string{"comm": "getent"}
	ok := map[string]string{"result": "ok"}
	failed := func(ms metrics) float64 { return ms.sum(lat, nil) - ms.sum(lat, ok) }
	n := 0
	after := in.eventually(t, "getaddrinfo calls of getent", func() {
		run(t, nil, "getent", "ahosts", "localhost")
		// .invalid never resolves (RFC 6761): exit status 2, not found.
		// No resolver is reachable here; where one is, one quick try.
		if code := runStatus(t, []string{"RES_OPTIONS=timeout:1 attempts:1"}, "getent", "ahosts", "ebpfmon-e2e.invalid"); code != 2 {
			t.Fatalf("getent ahosts ebpfmon-e2e.invalid: exit status %d, want 2", code)
		}
		n++
	}, watch(t, before, func(ms metrics) bool {
		return grew(before, ms, calls, getent) >= float64(2*n) && grew(before, ms, lat, ok) >= float64(n) &&
			failed(ms)-failed(before) >= float64(n) && sumGrew(before, ms, lat, ok) > 0
	}, calls, lat))
	for _, r := range after.labelValues(lat, "result") {
		if r != "ok" && !strings.HasPrefix(r, "EAI_") {
			t.Errorf("%s{result=%q}: not a glibc EAI_* code", lat, r)
		}
	}
	checkBounds(t, after, lat, exp2Bounds(0, 24, 1e-6))
	t.Logf("getaddrinfo: getent calls +%v, results %v, ok +%v (sum +%.6fs), failed +%v after %d x (localhost, .invalid)",
		grew(before, after, calls, getent), after.labelValues(lat, "result"), grew(before, after, lat, ok), sumGrew(before, after, lat, ok), failed(after)-failed(before), n)
	return after
}

func exerciseCPUClock(t *testing.T, in *instance, before metrics) metrics {
	const samples, stacks = "ebpfmon_cpu_samples_total", "ebpfmon_kernel_stack_samples_total"
	user, kernel := map[string]string{"mode": "user"}, map[string]string{"mode": "kernel"}
	// Stacks of samples taken while this test zeroes buffers in read(2):
	// /dev/zero's read_zero (read_iter_zero for vectored reads).
	readZero := func(ms metrics) float64 {
		total := 0.0
		for _, m := range ms.series(stacks, nil) {
			frames := strings.Split(labelValue(m, "kstack"), "\n")
			if slices.Contains(frames, "read_zero") || slices.Contains(frames, "read_iter_zero") {
				total += m.GetCounter().GetValue()
			}
		}
		return total
	}
	n := 0
	after := in.eventually(t, "user and kernel cpu-clock samples", func() {
		spinUser(300 * time.Millisecond)
		spinKernel(t, 300*time.Millisecond)
		n++
	}, watch(t, before, func(ms metrics) bool {
		return grew(before, ms, samples, user) >= 1 && grew(before, ms, samples, kernel) >= 1 && readZero(ms) > readZero(before)
	}, samples, stacks))
	checkCPUSplit(t, after, samples, onlineCPUs(t))
	for _, k := range after.labelValues(stacks, "kstack") {
		if k == "" || slices.Contains(strings.Split(k, "\n"), "") {
			t.Errorf("%s{kstack=%q}: empty frame", stacks, k)
		}
	}
	var perCPU []string
	for _, m := range after.series(samples, nil) {
		perCPU = append(perCPU, fmt.Sprintf("cpu%s/%s=%v", labelValue(m, "cpu"), labelValue(m, "mode"), m.GetCounter().GetValue()))
	}
	t.Logf("cpuclock: user +%v, kernel +%v samples (%v); %d kernel stacks, /dev/zero read stacks +%v after %d x 0.6s of spinning",
		grew(before, after, samples, user), grew(before, after, samples, kernel), perCPU, len(after.series(stacks, nil)), readZero(after)-readZero(before), n)
	return after
}

func exerciseXDP(t *testing.T, in *instance, before metrics) metrics {
	const packets, queries = "ebpfmon_xdp_packets_total", "ebpfmon_dns_queries_total"
	id := time.Now().UnixNano() % 1e9
	q4, q6 := fmt.Sprintf("v4-%d.ebpfmon.test", id), fmt.Sprintf("v6-%d.ebpfmon.test", id)
	udp4 := map[string]string{"interface": "lo", "ip_version": "ipv4", "protocol": "udp"}
	udp6 := map[string]string{"interface": "lo", "ip_version": "ipv6", "protocol": "udp"}
	icmp4 := map[string]string{"interface": "lo", "ip_version": "ipv4", "protocol": "icmp"}
	icmp6 := map[string]string{"interface": "lo", "ip_version": "ipv6", "protocol": "icmpv6"}
	// Port unreachable replies only come when nothing listens on port 53.
	closed := map[string]bool{}
	for _, ip := range []string{"127.0.0.1", "::1"} {
		if c, err := net.ListenPacket("udp", net.JoinHostPort(ip, "53")); err == nil {
			c.Close()
			closed[ip] = true
		}
	}
	n := 0
	after := in.eventually(t, "DNS queries over lo", func() {
		sendUDP(t, "127.0.0.1", 53, 1, dnsQuery(q4))
		sendUDP(t, "::1", 53, 1, dnsQuery(q6))
		n++
	}, watch(t, before, func(ms metrics) bool {
		return ms.sum(queries, map[string]string{"qname": q4}) >= float64(n) && ms.sum(queries, map[string]string{"qname": q6}) >= float64(n) &&
			grew(before, ms, packets, udp4) >= float64(n) && grew(before, ms, packets, udp6) >= float64(n) &&
			(!closed["127.0.0.1"] || grew(before, ms, packets, icmp4) >= 1) && (!closed["::1"] || grew(before, ms, packets, icmp6) >= 1)
	}, packets, queries))
	for _, q := range []string{q4, q6} {
		if got := after.sum(queries, map[string]string{"qname": q}); got != float64(n) {
			t.Errorf("%s{qname=%q} = %v, want %d: each query passes XDP on lo once", queries, q, got, n)
		}
	}
	if got := after.labelValues(packets, "interface"); slices.ContainsFunc(got, func(s string) bool { return s != "lo" }) {
		t.Errorf("%s interfaces %v, want only lo (the program is attached to lo)", packets, got)
	}
	t.Logf("xdp: %d packet series; udp ipv4 +%v ipv6 +%v, icmp +%v icmpv6 +%v; qnames %v after %d queries each",
		len(after.series(packets, nil)), grew(before, after, packets, udp4), grew(before, after, packets, udp6),
		grew(before, after, packets, icmp4), grew(before, after, packets, icmp6), after.labelValues(queries, "qname"), n)
	return after
}

// --- checks shared by every example ---

// programsOf lists the BPF programs in examples/NAME.bpf.o.
func programsOf(t *testing.T, name string) []string {
	t.Helper()
	spec, err := usdt.LoadCollectionSpec(filepath.Join(examplesDir, name+".bpf.o"))
	if err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(spec.Programs))
}

// metricsOf lists the exported metric names (with the default namespace) of
// examples/NAME.yaml.
func metricsOf(t *testing.T, name string) (counters, histograms []string) {
	t.Helper()
	var cfg struct {
		Metrics struct {
			Counters   []struct{ Name string }
			Histograms []struct{ Name string }
		}
	}
	if err := yaml.Unmarshal([]byte(readFile(t, filepath.Join(examplesDir, name+".yaml"))), &cfg); err != nil {
		t.Fatalf("%s.yaml: %v", name, err)
	}
	for _, c := range cfg.Metrics.Counters {
		counters = append(counters, "ebpfmon_"+c.Name)
	}
	for _, h := range cfg.Metrics.Histograms {
		histograms = append(histograms, "ebpfmon_"+h.Name)
	}
	return counters, histograms
}

// checkHealthy asserts ebpfmon's own view of the config: loaded, each
// program attached, scraped without errors or decode errors.
func checkHealthy(t *testing.T, ms metrics, config string, programs []string) {
	t.Helper()
	cfg := map[string]string{"config": config}
	one := func(name string, match map[string]string, want float64) {
		t.Helper()
		s := ms.series(name, match)
		if len(s) != 1 || ms.sum(name, match) != want {
			t.Errorf("%s%v: %d series summing to %v, want one series = %v", name, match, len(s), ms.sum(name, match), want)
		}
	}
	one("ebpfmon_config_loaded", cfg, 1)
	one("ebpfmon_enabled_configs", map[string]string{"name": config}, 1)
	one("ebpfmon_scrape_success", cfg, 1)
	if s := ms.series("ebpfmon_decoder_errors_total", cfg); len(s) == 0 || ms.sum("ebpfmon_decoder_errors_total", cfg) != 0 {
		t.Errorf("ebpfmon_decoder_errors_total%v: %d series summing to %v, want one per map, each 0", cfg, len(s), ms.sum("ebpfmon_decoder_errors_total", cfg))
	}
	for _, p := range programs {
		one("ebpfmon_ebpf_program_attached", map[string]string{"config": config, "program": p}, 1)
	}
	if got := len(ms.series("ebpfmon_ebpf_program_attached", cfg)); got != len(programs) {
		t.Errorf("ebpfmon_ebpf_program_attached{config=%q}: %d series, want %d (programs %v)", config, got, len(programs), programs)
	}
}

// checkFamilies asserts every metric of the YAML is served, with its type.
func checkFamilies(t *testing.T, ms metrics, counters, histograms []string) {
	t.Helper()
	for _, c := range counters {
		if fam := ms[c]; fam == nil || fam.GetType() != dto.MetricType_COUNTER {
			t.Errorf("%s: not served as a counter (family %v)", c, fam.GetType())
		}
	}
	for _, h := range histograms {
		if fam := ms[h]; fam == nil || fam.GetType() != dto.MetricType_HISTOGRAM {
			t.Errorf("%s: not served as a histogram (family %v)", h, fam.GetType())
		}
	}
}

// checkNeverDown asserts that every counter and histogram series of the
// first scrape is in the second one, with no value, bucket or sum lower.
func checkNeverDown(t *testing.T, before, after metrics) {
	t.Helper()
	for name, fam := range before {
		if !strings.HasPrefix(name, "ebpfmon_") {
			continue
		}
		for _, m := range fam.Metric {
			id := seriesID(m)
			var now *dto.Metric
			for _, a := range after.series(name, nil) {
				if seriesID(a) == id {
					now = a
				}
			}
			switch {
			case fam.GetType() != dto.MetricType_COUNTER && fam.GetType() != dto.MetricType_HISTOGRAM:
			case now == nil:
				t.Errorf("%s{%s}: in the first scrape, gone from a later one", name, id)
			case m.Counter != nil && now.GetCounter().GetValue() < m.Counter.GetValue():
				t.Errorf("%s{%s}: counter went down from %v to %v", name, id, m.Counter.GetValue(), now.GetCounter().GetValue())
			case m.Histogram != nil:
				b, a := m.Histogram, now.GetHistogram()
				if a.GetSampleCount() < b.GetSampleCount() || a.GetSampleSum() < b.GetSampleSum() || len(a.Bucket) != len(b.Bucket) {
					t.Errorf("%s{%s}: histogram went down: count %d -> %d, sum %v -> %v, %d -> %d buckets", name, id,
						b.GetSampleCount(), a.GetSampleCount(), b.GetSampleSum(), a.GetSampleSum(), len(b.Bucket), len(a.Bucket))
					continue
				}
				for i := range b.Bucket {
					if a.Bucket[i].GetCumulativeCount() < b.Bucket[i].GetCumulativeCount() {
						t.Errorf("%s{%s}: bucket le=%v went down from %d to %d", name, id, b.Bucket[i].GetUpperBound(),
							b.Bucket[i].GetCumulativeCount(), a.Bucket[i].GetCumulativeCount())
					}
				}
			}
		}
	}
}

// checkHistograms asserts every histogram series has increasing bounds,
// cumulative bucket counts no larger than its count (equal for +Inf), and a
// finite sum >= 0; and that the series of one family share their bounds.
func checkHistograms(t *testing.T, ms metrics) {
	t.Helper()
	for name, fam := range ms {
		if !strings.HasPrefix(name, "ebpfmon_") || fam.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		var first []float64
		for _, m := range fam.Metric {
			h, id := m.GetHistogram(), seriesID(m)
			if s := h.GetSampleSum(); s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
				t.Errorf("%s{%s}: sum %v", name, id, s)
			}
			var bounds []float64
			for i, b := range h.Bucket {
				bounds = append(bounds, b.GetUpperBound())
				if i > 0 && b.GetUpperBound() <= h.Bucket[i-1].GetUpperBound() {
					t.Errorf("%s{%s}: le=%v after le=%v: bounds not increasing", name, id, b.GetUpperBound(), h.Bucket[i-1].GetUpperBound())
				}
				if i > 0 && b.GetCumulativeCount() < h.Bucket[i-1].GetCumulativeCount() {
					t.Errorf("%s{%s}: le=%v has %d, le=%v has %d: not cumulative", name, id,
						b.GetUpperBound(), b.GetCumulativeCount(), h.Bucket[i-1].GetUpperBound(), h.Bucket[i-1].GetCumulativeCount())
				}
				if math.IsInf(b.GetUpperBound(), 1) && b.GetCumulativeCount() != h.GetSampleCount() {
					t.Errorf("%s{%s}: le=+Inf has %d, the count is %d", name, id, b.GetCumulativeCount(), h.GetSampleCount())
				}
				if b.GetCumulativeCount() > h.GetSampleCount() {
					t.Errorf("%s{%s}: le=%v has %d, more than the count %d", name, id, b.GetUpperBound(), b.GetCumulativeCount(), h.GetSampleCount())
				}
			}
			if first == nil {
				first = bounds
			} else if !slices.Equal(bounds, first) {
				t.Errorf("%s{%s}: bounds %v differ from the family's first series' %v", name, id, bounds, first)
			}
		}
	}
}

// checkBounds asserts the "le" bounds of every series of a histogram (the
// +Inf bucket aside).
func checkBounds(t *testing.T, ms metrics, name string, want []float64) {
	t.Helper()
	for _, m := range ms.series(name, nil) {
		var got []float64
		for _, b := range m.GetHistogram().Bucket {
			if !math.IsInf(b.GetUpperBound(), 1) {
				got = append(got, b.GetUpperBound())
			}
		}
		if !slices.EqualFunc(got, want, func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Abs(b) }) {
			t.Errorf("%s{%s}: bounds %v, want %v", name, seriesID(m), got, want)
		}
	}
}

// checkCPUSplit asserts the series of a per-CPU metric split by a cpu label:
// each label set has one series per possible CPU, cpu="0".."N-1".
func checkCPUSplit(t *testing.T, ms metrics, name string, online []int) {
	t.Helper()
	byLabels := map[string][]int{}
	for _, m := range ms.series(name, nil) {
		cpu, err := strconv.Atoi(labelValue(m, "cpu"))
		if err != nil || !slices.Contains(online, cpu) {
			t.Errorf("%s{%s}: cpu label is not an online CPU %v", name, seriesID(m), online)
			continue
		}
		var rest []string
		for _, lp := range m.Label {
			if lp.GetName() != "cpu" {
				rest = append(rest, lp.GetName()+"="+lp.GetValue())
			}
		}
		key := strings.Join(rest, ",")
		byLabels[key] = append(byLabels[key], cpu)
	}
	if len(byLabels) == 0 {
		t.Errorf("%s: no series", name)
	}
	for key, got := range byLabels {
		slices.Sort(got)
		if !slices.Equal(got, online) {
			t.Errorf("%s{%s}: cpus %v, want the online CPUs %v once each", name, key, got, online)
		}
	}
}

// --- helpers ---

// grew is how much the series of name matching match went up (values, or
// counts for histograms) from before to after.
func grew(before, after metrics, name string, match map[string]string) float64 {
	return after.sum(name, match) - before.sum(name, match)
}

// sumGrew is how much the _sum of the histogram series of name matching
// match went up.
func sumGrew(before, after metrics, name string, match map[string]string) float64 {
	sum := func(ms metrics) float64 {
		total := 0.0
		for _, m := range ms.series(name, match) {
			total += m.GetHistogram().GetSampleSum()
		}
		return total
	}
	return sum(after) - sum(before)
}

func labelValue(m *dto.Metric, name string) string {
	for _, lp := range m.Label {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// seriesID is a series' labels as name="value" pairs.
func seriesID(m *dto.Metric) string {
	var pairs []string
	for _, lp := range m.Label {
		pairs = append(pairs, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
	}
	slices.Sort(pairs)
	return strings.Join(pairs, ",")
}

// countSeries counts the series of the example's own metrics.
func countSeries(ms metrics, counters, histograms []string) int {
	n := 0
	for _, name := range append(counters, histograms...) {
		n += len(ms.series(name, nil))
	}
	return n
}

func exp2Bounds(lo, hi int, mult float64) []float64 {
	var b []float64
	for k := lo; k <= hi; k++ {
		b = append(b, math.Exp2(float64(k))*mult)
	}
	return b
}

func exp2ZeroBounds(lo, hi int, mult float64) []float64 {
	var b []float64
	for k := lo; k <= hi; k++ {
		if k == 0 {
			b = append(b, 0)
		} else {
			b = append(b, math.Exp2(float64(k-1))*mult)
		}
	}
	return b
}

func linearBounds(lo, hi int, mult float64) []float64 {
	var b []float64
	for k := lo; k <= hi; k++ {
		b = append(b, float64(k)*mult)
	}
	return b
}

func fixedBounds(mult float64, keys ...float64) []float64 {
	var b []float64
	for _, k := range keys {
		b = append(b, k*mult)
	}
	return b
}

// watch returns check, keeping the last scrape it sees; if the test fails,
// the series of families in before and in that scrape are logged.
func watch(t *testing.T, before metrics, check func(metrics) bool, families ...string) func(metrics) bool {
	var last metrics
	t.Cleanup(func() {
		if !t.Failed() || last == nil {
			return
		}
		for _, scrape := range []struct {
			what string
			ms   metrics
		}{{"before", before}, {"last", last}} {
			for _, f := range families {
				for _, m := range scrape.ms.series(f, nil) {
					t.Logf("%s scrape: %s{%s} %v", scrape.what, f, seriesID(m), value(m))
				}
			}
		}
	})
	return func(ms metrics) bool {
		last = ms
		return check(ms)
	}
}

// value is a series' value, or count and sum for histograms.
func value(m *dto.Metric) string {
	if h := m.GetHistogram(); h != nil {
		return fmt.Sprintf("count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
	return fmt.Sprint(m.GetCounter().GetValue() + m.GetGauge().GetValue())
}
