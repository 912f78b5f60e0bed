package systemd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = "../.."

// install runs `make install` with vars (DESTDIR=..., PREFIX=...).
func install(t *testing.T, vars ...string) {
	t.Helper()
	for _, tool := range []string{"make", "clang-19", "install", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unavailable(t, "%s not installed (make setup installs it)", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", append([]string{"-s", "-C", repoRoot, "install"}, vars...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install %s: %v\n%s", strings.Join(vars, " "), err, out)
	}
}

// TestInstallRefusesPaths: paths that cannot go into a unit's ExecStart or
// a shell command unquoted (blanks, | and & of the sed rewrite and the
// shell, relative paths) are refused with the rule, before anything is
// installed.
func TestInstallRefusesPaths(t *testing.T) {
	for _, vars := range [][]string{
		{"PREFIX=/opt/a b"},
		{"PREFIX=/opt/a|b"},
		{"SYSCONFDIR=/etc/a&b"},
		{"PREFIX=opt/ebpfmon"},
		{"DESTDIR=/tmp/a b"},
	} {
		t.Run(strings.Join(vars, " "), func(t *testing.T) {
			dest := t.TempDir()
			if !strings.HasPrefix(vars[0], "DESTDIR=") {
				vars = append(vars, "DESTDIR="+dest)
			}
			cmd := exec.Command("make", append([]string{"-s", "-C", repoRoot, "install"}, vars...)...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "make install: ") {
				t.Fatalf("make install %q: err %v, want refused with the rule; output:\n%s", vars, err, out)
			}
			if entries, _ := os.ReadDir(dest); len(entries) != 0 {
				t.Errorf("make install %q installed %d entries before refusing", vars, len(entries))
			}
		})
	}
}

// examples are the NAME of every examples/NAME.bpf.c.
func examples(t *testing.T) []string {
	t.Helper()
	srcs, err := filepath.Glob(filepath.Join(repoRoot, "examples", "*.bpf.c"))
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no examples/*.bpf.c: %v", err)
	}
	var names []string
	for _, s := range srcs {
		names = append(names, strings.TrimSuffix(filepath.Base(s), ".bpf.c"))
	}
	return names
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestInstallTree checks `make install DESTDIR=... ` lays out the tree:
// each path, its mode, the units' paths rewritten for PREFIX and
// SYSCONFDIR, and the files of SYSCONFDIR kept when installed again.
func TestInstallTree(t *testing.T) {
	for _, tc := range []struct {
		name, prefix, sysconf string
		vars                  []string
	}{
		{name: "defaults", prefix: "/usr/local", sysconf: "/etc"},
		{name: "prefix", prefix: "/opt/ebpfmon", sysconf: "/etc/opt", vars: []string{"PREFIX=/opt/ebpfmon", "SYSCONFDIR=/etc/opt"}},
		// A PREFIX holding the default /etc/ebpfmon must not be rewritten
		// again as SYSCONFDIR.
		{name: "prefix with etc", prefix: "/opt/etc/ebpfmon", sysconf: "/etc/opt", vars: []string{"PREFIX=/opt/etc/ebpfmon", "SYSCONFDIR=/etc/opt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := t.TempDir()
			install(t, append([]string{"DESTDIR=" + dest}, tc.vars...)...)
			want := map[string]os.FileMode{
				tc.prefix + "/bin/ebpfmon":                        0o755,
				tc.prefix + "/lib/systemd/system/ebpfmon.service": 0o644,
				tc.prefix + "/lib/systemd/system/ebpfmon.socket":  0o644,
				tc.prefix + "/share/ebpfmon/examples/README.md":   0o644,
				tc.prefix + "/share/ebpfmon/include/vmlinux.h":    0o644,
				tc.prefix + "/share/ebpfmon/include/maps.bpf.h":   0o644,
				tc.prefix + "/share/ebpfmon/include/events.bpf.h": 0o644,
				tc.prefix + "/share/ebpfmon/configs.sh":           0o755,
				tc.prefix + "/bin/ebpfmon-configs":                os.ModeSymlink | 0o777,
				tc.sysconf + "/ebpfmon/ebpfmon.env":               0o644,
				tc.sysconf + "/ebpfmon/examples.names":            0o644,
				tc.sysconf + "/ebpfmon/configs":                   os.ModeDir | 0o755,
			}
			for _, name := range examples(t) {
				for _, ext := range []string{".yaml", ".bpf.o"} {
					want[tc.prefix+"/share/ebpfmon/examples/"+name+ext] = 0o644
				}
			}
			checkTree(t, dest, want)
			checkPaths(t, dest, tc.prefix, tc.sysconf)

			// Installed again: the binary, units and examples are replaced,
			// what an administrator edits in SYSCONFDIR is kept.
			env := filepath.Join(dest, tc.sysconf, "ebpfmon", "ebpfmon.env")
			if err := os.WriteFile(env, []byte("EBPFMON_ARGS=--edited\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			install(t, append([]string{"DESTDIR=" + dest}, tc.vars...)...)
			if got := readFile(t, env); got != "EBPFMON_ARGS=--edited\n" {
				t.Errorf("a second install replaced the edited %s: %q", env, got)
			}
		})
	}
}

// checkTree checks dest holds exactly want: each file and directory with
// its mode (directories that only lead to them are not listed).
func checkTree(t *testing.T, dest string, want map[string]os.FileMode) {
	t.Helper()
	var extra []string
	err := filepath.WalkDir(dest, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := "/" + strings.TrimPrefix(strings.TrimPrefix(path, dest), "/")
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode, ok := want[rel]
		switch {
		case ok && info.Mode() != mode:
			t.Errorf("%s: mode %v, want %v", rel, info.Mode(), mode)
		case !ok && !d.IsDir():
			extra = append(extra, rel)
		}
		delete(want, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	missing := slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	})
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("install tree: missing %q, unexpected %q", missing, extra)
	}
}

// checkPaths checks the installed units and default flags name the
// installed binary, examples and SYSCONFDIR, and nothing of the defaults
// when PREFIX or SYSCONFDIR differ.
func checkPaths(t *testing.T, dest, prefix, sysconf string) {
	t.Helper()
	unit := parseUnit(t, filepath.Join(dest, prefix, "lib/systemd/system/ebpfmon.service"))
	if got, want := unit.first("ExecStart"), prefix+"/bin/ebpfmon --web.systemd-socket $EBPFMON_ARGS"; got != want {
		t.Errorf("ExecStart=%s, want %s", got, want)
	}
	if got, want := unit.first("EnvironmentFile"), sysconf+"/ebpfmon/ebpfmon.env"; got != want {
		t.Errorf("EnvironmentFile=%s, want %s", got, want)
	}
	args := envArgs(t, filepath.Join(dest, sysconf, "ebpfmon", "ebpfmon.env"))
	for _, want := range []string{
		"--config.dir=" + prefix + "/share/ebpfmon/examples",
		"--config.names-file=" + sysconf + "/ebpfmon/examples.names",
		"--config.extra-dir=" + sysconf + "/ebpfmon/configs",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("ebpfmon.env: EBPFMON_ARGS %q without %s", args, want)
		}
	}
	for _, f := range []string{prefix + "/lib/systemd/system/ebpfmon.service", prefix + "/lib/systemd/system/ebpfmon.socket", sysconf + "/ebpfmon/ebpfmon.env", sysconf + "/ebpfmon/examples.names"} {
		text := readFile(t, filepath.Join(dest, f))
		rest := strings.ReplaceAll(strings.ReplaceAll(text, sysconf+"/ebpfmon", ""), prefix, "")
		if prefix != "/usr/local" && strings.Contains(rest, "/usr/local") || sysconf != "/etc" && strings.Contains(rest, "/etc/ebpfmon") {
			t.Errorf("%s still names a default path:\n%s", f, text)
		}
	}
}
