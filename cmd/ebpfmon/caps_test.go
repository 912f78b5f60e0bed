package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/alecthomas/kingpin/v2"
	"golang.org/x/sys/unix"

	"github.com/ebpfmon/ebpfmon/caps"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

func TestCapabilitiesFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		err  string
	}{
		{want: "auto"},
		{args: []string{"--capabilities.keep=none"}, want: "none"},
		{args: []string{"--capabilities.keep", "cap_bpf,cap_syslog"}, want: "cap_bpf,cap_syslog"},
		{args: []string{"--capabilities.keep=all"}, want: "all"},
		{args: []string{"--capabilities.keep=cap_bfp"}, err: `unknown capability "cap_bfp"`},
		{args: []string{"--capabilities.keep="}, err: "empty capability list"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var keep string
			app := kingpin.New("ebpfmon", "")
			addCapabilitiesFlag(app, &keep)
			if _, err := app.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := checkCapabilitiesFlag(keep)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "--capabilities.keep") {
					t.Fatalf("checkCapabilitiesFlag(%q) = %v, want an error naming the flag and containing %q", keep, err, tc.err)
				}
				return
			}
			if err != nil || keep != tc.want {
				t.Fatalf("--capabilities.keep = %q, %v; want %q", keep, err, tc.want)
			}
		})
	}
}

// TestCapabilitiesAfterAttach checks auto's probe against what the kernel
// version and sysctl say, leaving this process's capabilities alone.
func TestCapabilitiesAfterAttach(t *testing.T) {
	testenv.Privileged(t)
	before, err := caps.Current()
	if err != nil {
		t.Fatal(err)
	}
	got, err := capabilitiesAfterAttach(before.Permitted)
	if err != nil {
		t.Fatal(err)
	}
	sysctl, _ := os.ReadFile("/proc/sys/kernel/unprivileged_bpf_disabled")
	switch {
	case testenv.KernelAtLeast(t, 6, 5) || strings.TrimSpace(string(sysctl)) == "0":
		if got != 0 {
			t.Errorf("capabilitiesAfterAttach = %v, want none on Linux 6.5+ or with unprivileged_bpf_disabled=0", got)
		}
	case got != caps.Of(unix.CAP_BPF):
		// A kernel before 6.5 with the change backported needs none too.
		t.Logf("capabilitiesAfterAttach = %v on a kernel before 6.5 with unprivileged_bpf_disabled=%s", got, bytes.TrimSpace(sysctl))
	}
	if after, err := caps.Current(); err != nil || after != before {
		t.Errorf("the probe changed this process's capabilities: %+v, was %+v (%v)", after, before, err)
	}
}

// dropChildEnv makes TestDropCapabilitiesChild call dropCapabilities with
// its value and print the resulting state.
const dropChildEnv = "EBPFMON_DROP_CAPS_CHILD"

// TestDropCapabilitiesChild is the helper process of TestDropCapabilities.
func TestDropCapabilitiesChild(t *testing.T) {
	keep, ok := os.LookupEnv(dropChildEnv)
	if !ok {
		t.Skip("helper process of TestDropCapabilities")
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := dropCapabilities(keep, false, logger); err != nil {
		fmt.Println("ERROR:", err)
		os.Exit(1)
	}
	st, err := caps.Current()
	if err != nil {
		fmt.Println("ERROR:", err)
		os.Exit(1)
	}
	fmt.Printf("STATE %x %x %x %t\n", uint64(st.Effective), uint64(st.Permitted), uint64(st.Bounding), st.NoNewPrivs)
	os.Exit(0)
}

// cgoFree reports whether this binary can change every thread's
// credentials (it does not link cgo; -race does).
func cgoFree() bool {
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, 0, 0)
	return errno != syscall.ENOTSUP
}

// TestDropCapabilities runs dropCapabilities in a child process, with each
// kind of --capabilities.keep value.
func TestDropCapabilities(t *testing.T) {
	testenv.Privileged(t)
	bin := os.Args[0]
	if !cgoFree() {
		// dropCapabilities cannot work here: check it says so, then build
		// a binary without cgo for the real test.
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		if err := dropCapabilities("none", false, logger); !errors.Is(err, caps.ErrCgo) {
			t.Errorf("none in a cgo binary: %v, want ErrCgo", err)
		}
		if err := dropCapabilities("auto", false, logger); err != nil || !strings.Contains(logs.String(), "CGO_ENABLED=0") {
			t.Errorf("auto in a cgo binary: %v, want a warning only; log:\n%s", err, logs.String())
		}
		if _, err := exec.LookPath("go"); err != nil {
			testenv.Unavailable(t, "this test binary links cgo and there is no go command to build one without: %v", err)
		}
		bin = filepath.Join(t.TempDir(), "ebpfmon.test")
		build := exec.Command("go", "test", "-c", "-o", bin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go test -c with CGO_ENABLED=0: %v\n%s", err, out)
		}
	}
	parent, err := caps.Current()
	if err != nil {
		t.Fatal(err)
	}
	auto, err := capabilitiesAfterAttach(parent.Permitted)
	if err != nil {
		t.Fatal(err)
	}
	kept := caps.Of(unix.CAP_BPF, unix.CAP_PERFMON)
	for _, tc := range []struct {
		keep string
		want string
	}{
		{"all", fmt.Sprintf("STATE %x %x %x %t", uint64(parent.Effective), uint64(parent.Permitted), uint64(parent.Bounding), parent.NoNewPrivs)},
		{"none", "STATE 0 0 0 true"},
		{"cap_bpf,cap_perfmon", fmt.Sprintf("STATE %x %x %x true", uint64(kept), uint64(kept), uint64(kept))},
		{"auto", fmt.Sprintf("STATE %x %x %x true", uint64(auto), uint64(auto), uint64(auto))},
	} {
		t.Run(tc.keep, func(t *testing.T) {
			cmd := exec.Command(bin, "-test.run=^TestDropCapabilitiesChild$")
			cmd.Env = append(os.Environ(), dropChildEnv+"="+tc.keep)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("child: %v\n%s%s", err, out, stderr.String())
			}
			if got := strings.TrimSpace(string(out)); got != tc.want {
				t.Errorf("child state %q, want %q (effective permitted bounding no_new_privs)\nlog: %s", got, tc.want, stderr.String())
			}
		})
	}
}
