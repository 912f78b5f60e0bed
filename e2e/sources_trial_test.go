package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSourcesTrialStartupErrors gives --config.dir, --config.names-file
// and --config.extra-dir the way a user gets them wrong: each fails before
// loading anything, naming the flag (or where each name comes from) and
// the fix.
func TestSourcesTrialStartupErrors(t *testing.T) {
	extra := t.TempDir()
	reloadDir(t, extra, "syscalls")
	link := filepath.Join(t.TempDir(), "examples")
	if err := os.Symlink(examplesDir, link); err != nil {
		t.Fatal(err)
	}
	names := filepath.Join(t.TempDir(), "examples.names")
	missing := filepath.Join(t.TempDir(), "missing.names")
	for _, tc := range []struct {
		name, names string // names: the names file's text
		args        []string
		want        string
	}{
		{"extra dir given twice", "", []string{"--config.names=timers", "--config.extra-dir=" + extra, "--config.extra-dir=" + extra + "/"},
			"--config.extra-dir " + extra + "/: the same directory as --config.extra-dir " + extra + ": give each directory once"},
		{"extra dir is the config dir", "", []string{"--config.names=timers", "--config.extra-dir=" + link},
			"--config.extra-dir " + link + ": the same directory as --config.dir " + examplesDir + ": give each directory once"},
		{"extra dir empty", "", []string{"--config.names=timers", "--config.extra-dir="}, "--config.extra-dir: empty, want the directory"},
		{"names file missing", "", []string{"--config.names-file=" + missing},
			"--config.names-file: names file: " + missing + ": no such file or directory (want a file naming configs of --config.dir " + examplesDir + ", or leave the flag out)"},
		{"names file names a custom config", "timers syscalls\n", []string{"--config.names-file=" + names, "--config.extra-dir=" + extra},
			`config \"syscalls\" is in both ` + examplesDir + " (named in " + names + ") and " + extra + ": a config may come from one directory only, take it out of " + names},
		{"name too long", strings.Repeat("a", 60000) + "\n", []string{"--config.names-file=" + names},
			`config \"` + strings.Repeat("a", 40) + `\"...: 60000 bytes, over the 249 a file name NAME.bpf.o allows`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, names, tc.names)
			out, ok := check(t, append([]string{"--config.dir=" + examplesDir}, tc.args...)...)
			if ok || !strings.Contains(out, tc.want) || strings.Contains(out, "config loaded") {
				t.Errorf("want a failure before loading, with %q:\n%.2000s", tc.want, out)
			}
			if len(out) > 4096 {
				t.Errorf("%d bytes of output, want a short error", len(out))
			}
		})
	}
}

// TestSourcesTrialNamesFileBOM: a names file saved by an editor that
// writes a byte order mark and CRLF line ends names the configs it shows.
func TestSourcesTrialNamesFileBOM(t *testing.T) {
	names := filepath.Join(t.TempDir(), "examples.names")
	writeFile(t, names, "\ufefftimers\r\nsyscalls\r\n")
	out, ok := check(t, "--config.dir="+examplesDir, "--config.names-file="+names)
	if !ok || !strings.Contains(out, "msg=\"config check passed\" configs=timers,syscalls") {
		t.Errorf("want timers and syscalls checked:\n%s", out)
	}
}

// TestSourcesTrialNameInNamesFileAndConfigMap runs the chart's layout and
// names a custom config of the ConfigMap in its names file too: the
// reload fails whole, saying the name comes from the names file, and
// nothing changes; taking the name out again reloads.
func TestSourcesTrialNameInNamesFileAndConfigMap(t *testing.T) {
	cm := t.TempDir()
	configMapVersion(t, cm, "..2026_12_03_12_00_00.1", map[string]string{"examples.names": "timers\n"}, "syscalls")
	names := filepath.Join(cm, "examples.names")
	in := start(t, "--config.dir="+examplesDir, "--config.names-file="+names, "--config.extra-dir="+cm,
		"--no-config.watch", "--web.enable-lifecycle")
	before := in.scrape(t)
	if before.sum("ebpfmon_config_loaded", nil) != 2 {
		t.Fatalf("want timers and syscalls loaded, got %v", before["ebpfmon_config_loaded"])
	}

	configMapVersion(t, cm, "..2026_12_03_12_05_00.2", map[string]string{"examples.names": "timers syscalls\n"}, "syscalls")
	code, body := in.post(t, "/-/reload")
	want := `config "syscalls" is in both ` + examplesDir + " (named in " + names + ") and " + cm + ": a config may come from one directory only, take it out of " + names
	if code != 500 || !strings.Contains(body, want) {
		t.Errorf("POST /-/reload: %d %q, want 500 with %q", code, body, want)
	}
	ms := in.scrape(t)
	if ms.sum("ebpfmon_config_last_reload_successful", nil) != 0 || ms.sum("ebpfmon_config_reloads_total", map[string]string{"result": "failure"}) != 1 {
		t.Errorf("after the failed list: last_reload_successful %v, reloads_total %v", ms["ebpfmon_config_last_reload_successful"], ms["ebpfmon_config_reloads_total"])
	}
	if !sameIDs(programIDs(before, "syscalls"), programIDs(ms, "syscalls")) || !sameIDs(programIDs(before, "timers"), programIDs(ms, "timers")) {
		t.Error("a failed list changed the running configs")
	}

	configMapVersion(t, cm, "..2026_12_03_12_10_00.3", map[string]string{"examples.names": "timers\n"}, "syscalls")
	if code, body := in.post(t, "/-/reload"); code != 200 || !strings.Contains(body, "unchanged: timers syscalls") {
		t.Errorf("POST /-/reload with the name taken out: %d %q", code, body)
	}
}
