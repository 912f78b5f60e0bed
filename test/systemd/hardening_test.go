package systemd

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/caps"
	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/internal/sdnotify/sdnotifytest"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// bound is how long the test waits for something that should happen soon.
const bound = 2 * time.Minute

// TestHardenedService emulates ebpfmon.service where PID 1 is not systemd:
// the installed binary is run as in ExecStart (its flags from the
// EnvironmentFile), as uid 65534 with only the unit's capabilities
// (ambient, inheritable, bounding) and no_new_privs, by setpriv, under
// strace. Every config the unit serves by default must load (READY=1 says
// so, and /metrics), a reload that removes a config and one that brings it
// back must work as that user, SIGTERM must stop it cleanly, and the trace
// must show nothing the unit's sandbox would refuse (checkTrace).
func TestHardenedService(t *testing.T) {
	testenv.Privileged(t)
	tools := map[string]string{}
	for _, tool := range []string{"setpriv", "strace", "sh"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			testenv.Unavailable(t, "%s not installed (make setup installs it)", tool)
		}
		tools[tool] = p
	}
	in := installTemp(t)
	u := parseUnit(t, in.service)
	unitCaps := checkCapabilities(t, u)
	if u.first("NoNewPrivileges") != "yes" || u.first("DynamicUser") != "yes" {
		t.Fatalf("NoNewPrivileges=%s DynamicUser=%s, want yes and yes", u.first("NoNewPrivileges"), u.first("DynamicUser"))
	}
	argv, ln := execStart(t, u)
	names, err := config.ReadNames(filepath.Join(in.sysconf, "ebpfmon", "examples.names"))
	if err != nil || len(names) == 0 {
		t.Fatalf("examples.names: %v %q", err, names)
	}

	ns := sdnotifytest.Listen(t, filepath.Join(in.root, "notify"))
	trace := filepath.Join(in.root, "trace")
	capList := "-all"
	for _, c := range unitCaps {
		capList += ",+" + strings.TrimPrefix(strings.ToLower(c), "cap_")
	}
	cmdline := []string{tools["strace"], "-f", "-qq", "-s", "4096", "-o", trace,
		// LISTEN_PID must be ebpfmon's pid: the shell's, which setpriv and
		// then ebpfmon keep across exec.
		tools["sh"], "-c", `export LISTEN_PID=$$ LISTEN_FDS=1; exec "$@"`, "sh",
		tools["setpriv"], "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs",
		"--inh-caps=" + capList, "--ambient-caps=" + capList, "--bounding-set=" + capList}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cmdline[0], append(cmdline[1:], argv...)...)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+ns.Name)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.WaitDelay = 10 * time.Second // Wait must not wait for a stray ebpfmon's pipe
	if ln != nil {
		f, err := ln.File()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.ExtraFiles = []*os.File{f} // fd 3, as systemd passes it
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := 0
	defer func() {
		if cmd.ProcessState == nil {
			// strace killed would leave ebpfmon running: ebpfmon first.
			if pid != 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("ebpfmon's log:\n%s", log.String())
		}
	}()
	pid = childPid(t, cmd.Process.Pid)

	all := fmt.Sprintf("%d configs loaded, 0 failed", len(names))
	waitReady(t, ns, all)
	addr := argvAddr(argv, ln)
	metrics := get(t, "http://"+addr+"/metrics")
	checkLoaded(t, metrics, names, unitCaps)
	checkStatus(t, pid, unitCaps)

	// Reloads as that user: one config removed, then back.
	namesFile := filepath.Join(in.sysconf, "ebpfmon", "examples.names")
	last := names[len(names)-1]
	writeFile(t, namesFile, strings.Join(names[:len(names)-1], "\n")+"\n")
	reload(t, ns, pid, fmt.Sprintf("%d configs loaded, 0 failed", len(names)-1))
	writeFile(t, namesFile, strings.Join(names, "\n")+"\n")
	reload(t, ns, pid, all)
	if m := get(t, "http://"+addr+"/metrics"); !strings.Contains(m, `ebpfmon_config_loaded{config="`+last+`"} 1`+"\n") {
		t.Errorf("config %s not loaded again by a reload as uid 65534", last)
	}

	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ns.Expect(t, "STOPPING=1", bound)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ebpfmon (under strace) exited with %v after SIGTERM, want 0", err)
	}
	checkTrace(t, u, readFile(t, trace), argv[0], pid, in.root)
}

// attachedRE matches ebpfmon_ebpf_program_attached series: config, value.
var attachedRE = regexp.MustCompile(`(?m)^ebpfmon_ebpf_program_attached\{[^}]*config="([^"]+)"[^}]*\} (\S+)$`)

// checkLoaded checks every config in names is loaded and every program
// of theirs attached (a program that fails to attach leaves its config
// loaded: only --config.strict, which the unit does not give, refuses it).
func checkLoaded(t *testing.T, metrics string, names, unitCaps []string) {
	t.Helper()
	attached := map[string]int{}
	for _, m := range attachedRE.FindAllStringSubmatch(metrics, -1) {
		if m[2] != "1" {
			t.Errorf("as uid 65534 with %v: a program of %s not attached: %s", unitCaps, m[1], m[0])
		}
		attached[m[1]]++
	}
	for _, n := range names {
		if !strings.Contains(metrics, `ebpfmon_config_loaded{config="`+n+`"} 1`+"\n") || attached[n] == 0 {
			t.Errorf("as uid 65534 with %v: config %s not loaded, or no program of it attached", unitCaps, n)
		}
	}
}

// checkCapabilities returns the unit's AmbientCapabilities, and checks
// CapabilityBoundingSet is the same set.
func checkCapabilities(t *testing.T, u unit) []string {
	t.Helper()
	amb, bnd := u.words("AmbientCapabilities"), u.words("CapabilityBoundingSet")
	slices.Sort(amb)
	slices.Sort(bnd)
	if len(amb) == 0 || !slices.Equal(amb, bnd) {
		t.Fatalf("AmbientCapabilities=%v, CapabilityBoundingSet=%v: want the same capabilities", amb, bnd)
	}
	return amb
}

// execStart is the unit's ExecStart, ready to run: $EBPFMON_ARGS from the
// EnvironmentFile, and --web.systemd-socket kept with a listener to pass
// as fd 3 when the binary has the flag, else replaced by a loopback
// --web.listen-address (ln nil).
func execStart(t *testing.T, u unit) (argv []string, ln *net.TCPListener) {
	t.Helper()
	args := envArgs(t, u.first("EnvironmentFile"))
	for _, w := range strings.Fields(u.first("ExecStart")) {
		if w == "$EBPFMON_ARGS" {
			argv = append(argv, args...)
			continue
		}
		argv = append(argv, w)
	}
	help, err := exec.Command(argv[0], "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --help: %v\n%s", argv[0], err, help)
	}
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(help), "--web.systemd-socket") {
		t.Cleanup(func() { l.Close() })
		return argv, l
	}
	t.Logf("%s has no --web.systemd-socket yet: listening on a loopback port instead", argv[0])
	addr := l.Addr().String()
	l.Close()
	i := slices.Index(argv, "--web.systemd-socket")
	if i < 0 {
		t.Fatalf("ExecStart %q without --web.systemd-socket", argv)
	}
	argv[i] = "--web.listen-address=" + addr
	return argv, nil
}

// argvAddr is where ebpfmon serves: the passed listener's address, or the
// --web.listen-address that replaced it.
func argvAddr(argv []string, ln *net.TCPListener) string {
	if ln != nil {
		return ln.Addr().String()
	}
	for _, a := range argv {
		if v, ok := strings.CutPrefix(a, "--web.listen-address="); ok {
			return v
		}
	}
	return ""
}

// childPid is the pid of strace's child that became ebpfmon (sh, then
// setpriv, then ebpfmon), once it has.
func childPid(t *testing.T, strace int) int {
	t.Helper()
	for deadline := time.Now().Add(bound); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", strace, strace))
		if err != nil {
			t.Fatalf("strace's children: %v", err)
		}
		// strace also forks short-lived children of its own, to probe
		// ptrace: the one wanted is the child that became ebpfmon (sh and
		// setpriv exec, keeping the pid).
		for _, f := range strings.Fields(string(raw)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("strace's children %q: %v", raw, err)
			}
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "ebpfmon" {
				return pid
			}
		}
	}
	t.Fatalf("strace started no ebpfmon in %s", bound)
	return 0
}

// checkStatus checks ebpfmon runs as uid 65534 with no_new_privs and the
// unit's capabilities as its bounding set (reloads keep the others).
func checkStatus(t *testing.T, pid int, unitCaps []string) {
	t.Helper()
	st, err := caps.ReadStatus(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	want, err := caps.Parse(strings.ToLower(strings.Join(unitCaps, ",")))
	if err != nil {
		t.Fatal(err)
	}
	status := readFile(t, fmt.Sprintf("/proc/%d/status", pid))
	if !strings.Contains(status, "\nUid:\t65534\t65534\t65534\t65534\n") || !st.NoNewPrivs || st.Bounding != want || st.Effective != want {
		t.Errorf("ebpfmon's status: want uid 65534, no_new_privs, bounding and effective %s; got %+v\n%s", want, st, status)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := (&http.Client{Timeout: bound}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", url, resp.StatusCode, err, body)
	}
	return string(body)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitReady waits for READY=1 with STATUS=status.
func waitReady(t *testing.T, ns *sdnotifytest.Socket, status string) {
	t.Helper()
	if m := ns.Expect(t, "READY=1", bound); !strings.Contains(m, "\nSTATUS="+status+"\n") {
		t.Fatalf("READY=1 with %q, want STATUS=%s", m, status)
	}
}

// reload sends SIGHUP and waits for RELOADING=1 and then READY=1 with
// status (the watch of the config directory may add a reload of its own).
func reload(t *testing.T, ns *sdnotifytest.Socket, pid int, status string) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	ns.Expect(t, "RELOADING=1", bound)
	timeout := time.After(bound)
	for {
		m := ns.Expect(t, "READY=1", bound)
		if strings.Contains(m, "\nSTATUS="+status+"\n") {
			return
		}
		select {
		case <-timeout:
			t.Fatalf("no READY=1 with STATUS=%s after SIGHUP; last %q", status, m)
		default:
		}
	}
}

var (
	callRE   = regexp.MustCompile(`^\d+\s+([a-z_0-9]+)\((.*)$`)
	socketRE = regexp.MustCompile(`^socket\((AF_[A-Z0-9]+)`)
	procRE   = regexp.MustCompile(`"/proc/(\d+)/`)
	pathRE   = regexp.MustCompile(`"(/[^"]*)"`)
)

// checkTrace checks what ebpfmon did, from its execve on, against what the
// unit's sandbox allows:
//   - SystemCallFilter: every system call in the allowed sets;
//   - RestrictAddressFamilies: every socket of an allowed family;
//   - ProtectSystem=strict, ReadOnlyPaths, ProtectHome, PrivateTmp: no file
//     opened for writing, none made, removed or renamed; nothing read in
//     /home, /root, /run/user, or /tmp and /var/tmp (but the install root);
//   - PrivateDevices: no device but /dev/null and the like;
//   - ProtectProc=invisible: no other process's /proc/PID;
//   - MemoryDenyWriteExecute: no memory mapped writable and executable;
//   - RestrictNamespaces, LockPersonality, RestrictRealtime: no unshare,
//     setns, CLONE_NEW*, personality, realtime scheduling.
func checkTrace(t *testing.T, u unit, trace, bin string, pid int, installRoot string) {
	t.Helper()
	start := strings.Index(trace, fmt.Sprintf("execve(%q", bin))
	if start < 0 {
		t.Fatalf("no execve of %s in the trace", bin)
	}
	allowed := allowedSyscalls(t, u["SystemCallFilter"])
	families := u.words("RestrictAddressFamilies")
	seen := map[string]int{}
	var problems []string
	for _, line := range strings.Split(trace[start:], "\n") {
		m := callRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name, call := m[1], m[1]+"("+m[2]
		seen[name]++
		if p := callProblem(name, call, allowed, families, pid, installRoot); p != "" && len(problems) < 20 {
			problems = append(problems, p+": "+line)
		}
	}
	if len(problems) > 0 {
		t.Errorf("the unit's sandbox would refuse:\n%s", strings.Join(problems, "\n"))
	}
	t.Logf("%d distinct system calls traced: %v", len(seen), slices.Sorted(func(yield func(string) bool) {
		for k := range seen {
			if !yield(k) {
				return
			}
		}
	}))
}

// callProblem says what directive call (a traced line from the name on)
// breaks, or "".
func callProblem(name, call string, allowed map[string]bool, families []string, pid int, installRoot string) string {
	switch {
	case !allowed[name]:
		return "SystemCallFilter: " + name
	case slices.Contains([]string{"unshare", "setns", "personality", "sched_setscheduler", "mkdir", "mkdirat", "unlink", "unlinkat",
		"rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "truncate", "chmod", "fchmodat", "mount"}, name):
		return "forbidden call " + name
	case strings.Contains(call, "CLONE_NEW"):
		return "RestrictNamespaces"
	case (name == "mmap" || name == "mprotect") && strings.Contains(call, "PROT_WRITE") && strings.Contains(call, "PROT_EXEC"):
		return "MemoryDenyWriteExecute"
	}
	if m := socketRE.FindStringSubmatch(call); m != nil && !slices.Contains(families, m[1]) {
		return "RestrictAddressFamilies: " + m[1]
	}
	if strings.HasPrefix(name, "open") && regexp.MustCompile(`O_(WRONLY|RDWR|CREAT|TRUNC)`).MatchString(call) {
		return "ProtectSystem=strict: opened for writing"
	}
	if m := procRE.FindStringSubmatch(call); m != nil && m[1] != strconv.Itoa(pid) {
		return "ProtectProc=invisible: another process's /proc"
	}
	for _, p := range pathRE.FindAllStringSubmatch(call, -1) {
		if s := pathProblem(p[1], installRoot); s != "" {
			return s
		}
	}
	return ""
}

// pathProblem says which directive hides path from the service, or "".
func pathProblem(path, installRoot string) string {
	under := func(dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }
	switch {
	case under("/home") || under("/root") || under("/run/user"):
		return "ProtectHome"
	case (under("/tmp") || under("/var/tmp")) && !under(installRoot):
		return "PrivateTmp"
	case under("/dev") && !slices.Contains([]string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"}, path):
		return "PrivateDevices"
	}
	return ""
}

// allowedSyscalls expands the unit's SystemCallFilter lines, in order (the
// first one an allow list; "~" lines take away), with the sets
// `systemd-analyze syscall-filter` lists.
func allowedSyscalls(t *testing.T, lines []string) map[string]bool {
	t.Helper()
	out, err := systemdAnalyze(t, "syscall-filter", "--no-pager")
	if err != nil {
		t.Fatalf("systemd-analyze syscall-filter: %v\n%s", err, out)
	}
	sets := map[string][]string{}
	cur := ""
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "@"):
			cur = strings.TrimSpace(l)
		case cur != "" && strings.TrimSpace(l) != "" && !strings.HasPrefix(strings.TrimSpace(l), "#"):
			sets[cur] = append(sets[cur], strings.TrimSpace(l))
		}
	}
	var expand func(string, map[string]bool) []string
	expand = func(w string, seen map[string]bool) []string {
		if !strings.HasPrefix(w, "@") {
			return []string{w}
		}
		if seen[w] {
			return nil
		}
		seen[w] = true
		if _, ok := sets[w]; !ok {
			t.Fatalf("SystemCallFilter: unknown set %s", w)
		}
		var names []string
		for _, m := range sets[w] {
			names = append(names, expand(m, seen)...)
		}
		return names
	}
	allowed := map[string]bool{}
	for i, line := range lines {
		deny := strings.HasPrefix(line, "~")
		if i == 0 && deny {
			t.Fatalf("SystemCallFilter=%s: the first line must be an allow list", line)
		}
		for _, w := range strings.Fields(strings.TrimPrefix(line, "~")) {
			for _, n := range expand(w, map[string]bool{}) {
				allowed[n] = !deny
			}
		}
	}
	// What systemd always allows, whatever the filter: the calls of
	// exiting and of returning from a signal, and execve of ExecStart.
	for _, n := range []string{"execve", "exit", "exit_group", "rt_sigreturn"} {
		allowed[n] = true
	}
	return allowed
}
