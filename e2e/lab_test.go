package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// Where each bundled example runs.
//
// exampleNeeds declares what an example needs beyond kernel BTF, where some
// kernel it is tested on lacks it. It is the single source of
// examples/README.md's support table: TestSupportTable checks that the
// README row of each example states the same needs, and that its column
// for the running kernel says "pass", "loads" or "unsupported" exactly as
// this kernel's support works out. The tests act on it: an example this
// kernel cannot load must fail its --config.check with the declared reason
// (TestEveryExampleChecks, TestExamples), never pass by being left out.
//
// Needs are detected on the running kernel, not inferred from its version:
// distribution kernels carry backports (Debian's 6.1.176 has the 6.9
// mark_victim signature oomkill needs).

// kernelNeed is one thing an example needs from the kernel.
type kernelNeed struct {
	// what states the need as the README's "needs" column does, with the
	// upstream release that brought it where there is one.
	what string
	// have tells whether the running kernel has it.
	have func() (bool, error)
	// fails are what --config.check prints for the example when the
	// kernel lacks it. None: without it the example still loads and
	// attaches, but some of its labels are wrong.
	fails []string
}

var exampleNeeds = map[string][]kernelNeed{
	"blockpci": {{
		what:  "`request_queue.disk` (5.15)",
		have:  btfHas("request_queue", "disk"),
		fails: []string{"config=blockpci", "program block_rq_issue", "bad CO-RE relocation"},
	}},
	"kfree_skb": {{
		what:  "`reason` of `skb:kfree_skb` and its `enum skb_drop_reason` (5.17)",
		have:  dropReasons,
		fails: []string{"config=kfree_skb", "btf_enum", "no enum skb_drop_reason"},
	}},
	"oomkill": {{
		what:  "tp_btf `mark_victim(task, uid)` (6.9, backported to some stable kernels)",
		have:  markVictimHasTask,
		fails: []string{"config=oomkill", "mark_victim", "invalid mem access"},
	}},
	"podexec": {{
		what:  "tp_btf `mark_victim(task, uid)` (6.9, backported to some stable kernels)",
		have:  markVictimHasTask,
		fails: []string{"config=podexec", "mark_victim", "invalid mem access"},
	}},
	"podtcp": {{
		what: "`sock_cgroup_data.cgroup` (5.15) for the retransmits' cgroup: before, retransmits are not counted",
		have: btfHas("sock_cgroup_data", "cgroup"),
	}},
	"procevents": {{
		what:  "BPF ring buffer (5.8)",
		have:  func() (bool, error) { return featureHave(features.HaveMapType(ebpf.RingBuf)) },
		fails: []string{"config=procevents"},
	}},
	"unlinklat": {{
		what:  "BPF trampolines for fentry/fexit (x86-64 5.5)",
		have:  haveTrampolines,
		fails: []string{"config=unlinklat", "unlink_entry, unlink_exit", "BPF trampolines"},
	}},
	"vfsstat": {{
		what:  "kprobes (`CONFIG_KPROBES`)",
		have:  haveKprobes,
		fails: []string{"config=vfsstat", "vfs_read_entry", "vfs_write_return", "hook not available", "CONFIG_KPROBES"},
	}},
}

// support is how far the running kernel runs an example; the names are
// the first word of the README's cells.
type support string

const (
	supportPass  support = "pass"        // loads, attaches, metrics right
	supportLoads support = "loads"       // loads and attaches, some labels wrong
	supportNone  support = "unsupported" // does not load or attach
)

// supportHere works out the support of the example here and the needs the
// kernel lacks.
func supportHere(t *testing.T, name string) (support, []kernelNeed) {
	t.Helper()
	level, missing := supportPass, []kernelNeed(nil)
	for _, n := range exampleNeeds[name] {
		have, err := n.have()
		if err != nil {
			t.Fatalf("%s needs %s: cannot tell whether this kernel has it: %v", name, n.what, err)
		}
		switch {
		case have:
		case len(n.fails) > 0:
			level, missing = supportNone, append(missing, n)
		default:
			if level == supportPass {
				level = supportLoads
			}
			missing = append(missing, n)
		}
	}
	return level, missing
}

// labLimits are the examples whose events the kernel lab's guest cannot
// generate, and why. There (EBPFMON_LAB=1, set by scripts/matrix.sh) they
// are still loaded and attached by TestEveryExampleChecks; TestExamples
// skips them with this reason.
var labLimits = map[string]string{
	"blockpci":    "the guest has no disk (its root is the initramfs, in RAM)",
	"getaddrinfo": "the guest has no glibc programs (libc.so.6 is copied in only to attach the uprobes)",
	"usdt":        "the guest cannot run python3 (its ELF is copied in only to attach the USDT probe)",
}

// labEnv marks a run inside the kernel lab's busybox guest.
const labEnv = "EBPFMON_LAB"

func inLab() bool { return os.Getenv(labEnv) == "1" }

// exerciseHere tells TestExamples whether to generate the example's events
// and check its metrics here. When not, it has checked that an unsupported
// example fails as declared, or it skips, saying why: the kernel gets some
// labels wrong, or the kernel lab cannot generate the events.
func exerciseHere(t *testing.T, name string) bool {
	t.Helper()
	switch level, missing := supportHere(t, name); level {
	case supportNone:
		checkUnsupported(t, name)
		return false
	case supportLoads:
		t.Skipf("%s loads here but its metrics are wrong: kernel %s lacks %s (declared in exampleNeeds)", name, kernelRelease(t), whats(missing))
	}
	if why, ok := labLimits[name]; ok && inLab() {
		t.Skipf("%s: not exercised in the kernel lab: %s (declared in labLimits; TestEveryExampleChecks loads it)", name, why)
	}
	return true
}

// examplesHere splits the examples in examplesDir into those this kernel
// loads and attaches and those it does not.
func examplesHere(t *testing.T) (loadable, unloadable []string) {
	t.Helper()
	testenv.Privileged(t)
	for _, name := range exampleNames(t) {
		if level, _ := supportHere(t, name); level == supportNone {
			unloadable = append(unloadable, name)
		} else {
			loadable = append(loadable, name)
		}
	}
	return loadable, unloadable
}

// exampleNames lists NAME for every NAME.yaml in examplesDir.
func exampleNames(t *testing.T) []string {
	t.Helper()
	yamls, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if err != nil || len(yamls) == 0 {
		t.Fatalf("no examples in %s: %v", examplesDir, err)
	}
	var names []string
	for _, y := range yamls {
		names = append(names, strings.TrimSuffix(filepath.Base(y), ".yaml"))
	}
	return names
}

// checkUnsupported asserts that --config.check --config.strict fails for an
// example this kernel cannot load or attach, and says why.
func checkUnsupported(t *testing.T, name string) {
	t.Helper()
	level, missing := supportHere(t, name)
	if level != supportNone {
		t.Fatalf("checkUnsupported(%s): this kernel supports it (%s)", name, level)
	}
	out, ok := check(t, "--config.dir="+examplesDir, "--config.names="+name, "--config.strict")
	if ok {
		t.Fatalf("%s: --config.check passed on a kernel without %s: update exampleNeeds and examples/README.md\n%s", name, whats(missing), out)
	}
	explained := true
	for _, n := range missing {
		for _, w := range n.fails {
			if !strings.Contains(out, w) {
				t.Errorf("%s: the failure on a kernel without %s does not mention %q:\n%s", name, n.what, w, out)
				explained = false
			}
		}
	}
	if explained {
		t.Logf("%s: unsupported on %s (lacks %s), fails as declared", name, kernelRelease(t), whats(missing))
	}
}

func whats(needs []kernelNeed) string {
	var out []string
	for _, n := range needs {
		out = append(out, n.what)
	}
	return strings.Join(out, "; ")
}

// --- detecting needs ---

var kernelSpec = sync.OnceValues(btf.LoadKernelSpec)

// btfHas reports whether the kernel's BTF has the struct typ and, unless
// member is empty, a member of that name in it.
func btfHas(typ, member string) func() (bool, error) {
	return func() (bool, error) {
		spec, err := kernelSpec()
		if err != nil {
			return false, err
		}
		var s *btf.Struct
		if err := spec.TypeByName(typ, &s); errors.Is(err, btf.ErrNotFound) {
			return false, nil
		} else if err != nil {
			return false, err
		}
		if member == "" {
			return true, nil
		}
		return slices.ContainsFunc(s.Members, func(m btf.Member) bool { return m.Name == member }), nil
	}
}

// markVictimHasTask reports whether the mark_victim tracepoint passes the
// task (and the uid): btf_trace_mark_victim is void (*)(void *, task, uid)
// since 6.9, void (*)(void *, int pid) before.
func markVictimHasTask() (bool, error) {
	spec, err := kernelSpec()
	if err != nil {
		return false, err
	}
	var td *btf.Typedef
	if err := spec.TypeByName("btf_trace_mark_victim", &td); err != nil {
		return false, err
	}
	ptr, ok := td.Type.(*btf.Pointer)
	if !ok {
		return false, fmt.Errorf("btf_trace_mark_victim is %v, not a function pointer", td.Type)
	}
	proto, ok := ptr.Target.(*btf.FuncProto)
	if !ok {
		return false, fmt.Errorf("btf_trace_mark_victim points to %v, not a function", ptr.Target)
	}
	if len(proto.Params) < 2 {
		return false, nil
	}
	p, ok := btf.UnderlyingType(proto.Params[1].Type).(*btf.Pointer)
	if !ok {
		return false, nil
	}
	s, ok := btf.UnderlyingType(p.Target).(*btf.Struct)
	return ok && s.Name == "task_struct", nil
}

// dropReasons reports whether the kernel has kfree_skb's drop reasons:
// the tracepoint's reason field and the enum btf_enum names it from.
func dropReasons() (bool, error) {
	field, err := btfHas("trace_event_raw_kfree_skb", "reason")()
	if err != nil || !field {
		return false, err
	}
	spec, err := kernelSpec()
	if err != nil {
		return false, err
	}
	var enum *btf.Enum
	if err := spec.TypeByName("skb_drop_reason", &enum); errors.Is(err, btf.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// haveKprobes reports whether tracefs offers kprobe_events (tracefs is
// mounted by testenv.Privileged).
func haveKprobes() (bool, error) {
	_, err := os.Stat("/sys/kernel/tracing/kprobe_events")
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// haveTrampolines loads a do-nothing fentry program on do_unlinkat:
// kernels without usable BPF trampolines refuse it (EPERM on this project's
// CI host, ENOTSUPP where the architecture lacks them).
var haveTrampolines = sync.OnceValues(func() (bool, error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.Tracing,
		AttachType:   ebpf.AttachTraceFEntry,
		AttachTo:     "do_unlinkat",
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	})
	if err == nil {
		prog.Close()
		return true, nil
	}
	const enotsupp = unix.Errno(524) // the kernel's internal ENOTSUPP
	if errors.Is(err, unix.EPERM) || errors.Is(err, enotsupp) || errors.Is(err, ebpf.ErrNotSupported) {
		return false, nil
	}
	return false, fmt.Errorf("load an fentry program: %w", err)
})

// featureHave turns a features.Have* result into (have, error).
func featureHave(err error) (bool, error) {
	if errors.Is(err, ebpf.ErrNotSupported) {
		return false, nil
	}
	return err == nil, err
}

// kernelRelease is uname -r.
func kernelRelease(t *testing.T) string {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	return unix.ByteSliceToString(u.Release[:])
}

// kernelMajorMinor is "6.1" for 6.1.0-50-cloud-amd64.
func kernelMajorMinor(t *testing.T) string {
	t.Helper()
	parts := strings.SplitN(kernelRelease(t), ".", 3)
	if len(parts) < 2 {
		t.Fatalf("kernel release %q", kernelRelease(t))
	}
	minor, _, _ := strings.Cut(parts[1], "-")
	return parts[0] + "." + minor
}

// --- the README's support table ---

// supportTable parses the table of examples/README.md whose header starts
// with "| example | needs": the needs cell and the cell of each kernel
// column (by its header's first word, "6.1") for each example.
func supportTable(t *testing.T) (kernels []string, rows map[string]map[string]string) {
	t.Helper()
	f, err := os.Open(filepath.Join(examplesDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cells := func(line string) []string {
		var out []string
		for c := range strings.SplitSeq(strings.Trim(strings.TrimSpace(line), "|"), "|") {
			out = append(out, strings.TrimSpace(c))
		}
		return out
	}
	sc := bufio.NewScanner(f)
	var header []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case header == nil && strings.HasPrefix(line, "| example | needs"):
			header = cells(line)
			for _, h := range header[2:] {
				kernels = append(kernels, strings.Fields(h)[0])
			}
			rows = map[string]map[string]string{}
		case header != nil && strings.HasPrefix(line, "|---"):
		case header != nil && strings.HasPrefix(line, "|"):
			c := cells(line)
			if len(c) != len(header) {
				t.Fatalf("examples/README.md support table: %d cells, want %d: %s", len(c), len(header), line)
			}
			row := map[string]string{"needs": c[1]}
			for i, k := range kernels {
				row[k] = c[i+2]
			}
			rows[strings.Trim(c[0], "`")] = row
		case header != nil:
			return kernels, rows
		}
	}
	if header == nil {
		t.Fatal(`examples/README.md has no table headed "| example | needs | ..."`)
	}
	return kernels, rows
}

// TestSupportTable checks examples/README.md's support table against
// exampleNeeds and against the running kernel: one row per example, the
// needs as declared, and in this kernel's column the support this kernel
// gives.
func TestSupportTable(t *testing.T) {
	kernels, rows := supportTable(t)
	names := exampleNames(t)
	for _, name := range names {
		row, ok := rows[name]
		if !ok {
			t.Errorf("examples/README.md support table has no row for %s", name)
			continue
		}
		for _, n := range exampleNeeds[name] {
			if !strings.Contains(row["needs"], n.what) {
				t.Errorf("examples/README.md: %s needs %q, which does not say %q as exampleNeeds does", name, row["needs"], n.what)
			}
		}
		if len(exampleNeeds[name]) == 0 && row["needs"] != "" {
			t.Errorf("examples/README.md: %s needs %q, exampleNeeds has nothing for it", name, row["needs"])
		}
	}
	for name := range rows {
		if !slices.Contains(names, name) {
			t.Errorf("examples/README.md support table has a row for %s, which is not an example", name)
		}
	}
	here := kernelMajorMinor(t)
	if !slices.Contains(kernels, here) {
		t.Logf("examples/README.md has no column for kernel %s (columns %v): only the needs were checked", here, kernels)
		return
	}
	testenv.Privileged(t)
	for _, name := range names {
		cell := rows[name][here]
		level, missing := supportHere(t, name)
		if first, _, _ := strings.Cut(cell, " "); strings.TrimRight(first, ":,;") != string(level) {
			t.Errorf("examples/README.md says %q for %s on %s; this kernel (%s) gives %q (lacks: %s)", cell, name, here, kernelRelease(t), level, whats(missing))
		}
	}
	t.Logf("kernel %s: README column %s agrees for %d examples", kernelRelease(t), here, len(names))
}

// --- the kprobe and fentry examples (they run in the kernel lab) ---

func exerciseVfsstat(t *testing.T, in *instance, before metrics) metrics {
	const calls, bytes, errs = "ebpfmon_vfs_calls_total", "ebpfmon_vfs_bytes_total", "ebpfmon_vfs_errors_total"
	const chunk = 64 << 10
	read, write := map[string]string{"function": "vfs_read"}, map[string]string{"function": "vfs_write"}
	eisdir := map[string]string{"function": "vfs_read", "errno": "EISDIR"}
	ebadf := map[string]string{"function": "vfs_write", "errno": "EBADF"}
	dir := t.TempDir()
	path := filepath.Join(dir, "data")
	buf := make([]byte, chunk)
	n := 0
	after := in.eventually(t, "reads, writes and their errors", func() {
		// One write(2) and one read(2) of chunk bytes each.
		if err := os.WriteFile(path, buf, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := f.Read(make([]byte, chunk)); got != chunk || err != nil {
			t.Fatalf("read %s: %d bytes, %v", path, got, err)
		}
		// Writing to a read-only descriptor: vfs_write returns -EBADF.
		if _, err := unix.Write(int(f.Fd()), []byte("x")); !errors.Is(err, unix.EBADF) {
			t.Fatalf("write to a read-only descriptor: %v, want EBADF", err)
		}
		f.Close()
		// Reading a directory: vfs_read returns -EISDIR.
		d, err := os.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Read(int(d.Fd()), make([]byte, 16)); !errors.Is(err, unix.EISDIR) {
			t.Fatalf("read of a directory: %v, want EISDIR", err)
		}
		d.Close()
		n++
	}, watch(t, before, func(ms metrics) bool {
		return grew(before, ms, calls, read) >= float64(2*n) && grew(before, ms, calls, write) >= float64(2*n) &&
			grew(before, ms, bytes, read) >= float64(n*chunk) && grew(before, ms, bytes, write) >= float64(n*chunk) &&
			grew(before, ms, errs, eisdir) >= float64(n) && grew(before, ms, errs, ebadf) >= float64(n)
	}, calls, bytes, errs))
	for _, f := range append(after.labelValues(calls, "function"), after.labelValues(bytes, "function")...) {
		if f != "vfs_read" && f != "vfs_write" {
			t.Errorf("function=%q: want vfs_read or vfs_write", f)
		}
	}
	for _, e := range after.labelValues(errs, "errno") {
		if !strings.HasPrefix(e, "E") {
			t.Errorf("%s{errno=%q}: not an errno name", errs, e)
		}
	}
	t.Logf("vfsstat: calls read +%v write +%v, bytes read +%v write +%v, EISDIR +%v, EBADF +%v after %d rounds of %d bytes",
		grew(before, after, calls, read), grew(before, after, calls, write), grew(before, after, bytes, read), grew(before, after, bytes, write),
		grew(before, after, errs, eisdir), grew(before, after, errs, ebadf), n, chunk)
	return after
}

func exerciseUnlinklat(t *testing.T, in *instance, before metrics) metrics {
	const lat, errs = "ebpfmon_unlink_latency_seconds", "ebpfmon_unlink_errors_total"
	enoent, eisdir := map[string]string{"errno": "ENOENT"}, map[string]string{"errno": "EISDIR"}
	dir := t.TempDir()
	n := 0
	after := in.eventually(t, "unlinks, of a file, a missing file and a directory", func() {
		path := filepath.Join(dir, "file")
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := unix.Unlink(path); err != nil {
			t.Fatal(err)
		}
		if err := unix.Unlink(path); !errors.Is(err, unix.ENOENT) {
			t.Fatalf("unlink of a missing file: %v, want ENOENT", err)
		}
		if err := unix.Unlink(dir); !errors.Is(err, unix.EISDIR) {
			t.Fatalf("unlink of a directory: %v, want EISDIR", err)
		}
		n++
	}, watch(t, before, func(ms metrics) bool {
		return grew(before, ms, lat, nil) >= float64(3*n) && grew(before, ms, errs, enoent) >= float64(n) && grew(before, ms, errs, eisdir) >= float64(n)
	}, lat, errs))
	if got := len(after.series(lat, nil)); got != 1 {
		t.Errorf("%s: %d series, want 1 (no labels)", lat, got)
	}
	checkBounds(t, after, lat, exp2Bounds(0, 26, 1e-6))
	t.Logf("unlinklat: count +%v (sum +%.6fs), ENOENT +%v, EISDIR +%v after %d rounds of 3 unlinks; errnos %v",
		grew(before, after, lat, nil), sumGrew(before, after, lat, nil), grew(before, after, errs, enoent), grew(before, after, errs, eisdir),
		n, after.labelValues(errs, "errno"))
	return after
}
