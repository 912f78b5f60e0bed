package caps

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Set
		err  string
	}{
		{in: "none", want: 0},
		{in: "NONE", want: 0},
		{in: "all", want: All},
		{in: "cap_bpf,cap_perfmon", want: Of(unix.CAP_BPF, unix.CAP_PERFMON)},
		{in: "CAP_BPF, perfmon ,cap_syslog", want: Of(unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_SYSLOG)},
		{in: "cap_chown", want: 1},
		{in: "cap_checkpoint_restore", want: Of(unix.CAP_CHECKPOINT_RESTORE)},
		{in: "cap_bpf,cap_bpf", want: Of(unix.CAP_BPF)},
		{in: "", err: "empty capability list"},
		{in: "cap_bfp", err: `unknown capability "cap_bfp"`},
		{in: "cap_bpf,", err: "empty name"},
		{in: "none,cap_bpf", err: "none cannot be combined"},
		{in: "cap_bpf,all", err: "all cannot be combined"},
		{in: "cap_", err: "unknown capability"},
		{in: "39", err: "unknown capability"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestSet(t *testing.T) {
	s := Of(unix.CAP_BPF, unix.CAP_CHOWN, unix.CAP_PERFMON)
	if got := s.String(); got != "cap_chown,cap_perfmon,cap_bpf" {
		t.Errorf("String() = %q", got)
	}
	if !s.Has(unix.CAP_BPF) || s.Has(unix.CAP_SYS_ADMIN) || s.Has(64) {
		t.Error("Has is wrong")
	}
	if got := Set(0).String(); got != "none" {
		t.Errorf("empty set String() = %q, want none", got)
	}
	if got := Of(45).String(); got != "cap_45" {
		t.Errorf("unnamed capability String() = %q", got)
	}
	if n := len(All.Caps()); n != unix.CAP_LAST_CAP+1 {
		t.Errorf("All has %d capabilities, want %d", n, unix.CAP_LAST_CAP+1)
	}
	for c := range Cap(len(names)) {
		if names[c] == "" {
			t.Errorf("capability %d has no name", c)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"none", "all", "cap_bpf,cap_perfmon", "CAP_SYS_ADMIN, syslog", ",", "cap_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(set.String())
		if err != nil || again != set {
			t.Fatalf("Parse(%q) = %v, but Parse(%q) = %v, %v", s, set, set.String(), again, err)
		}
	})
}

const statusSample = `Name:	ebpfmon
Umask:	0022
State:	S (sleeping)
Uid:	0	0	0	0
CapInh:	0000000000000000
CapPrm:	000000c000000000
CapEff:	000000c000000004
CapBnd:	000001fffeffffff
CapAmb:	0000000000000000
NoNewPrivs:	1
Seccomp:	0
`

func TestParseStatus(t *testing.T) {
	st, err := parseStatus(strings.NewReader(statusSample))
	if err != nil {
		t.Fatal(err)
	}
	want := State{
		Permitted:  Of(unix.CAP_BPF, unix.CAP_PERFMON),
		Effective:  Of(unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_DAC_READ_SEARCH),
		Bounding:   All &^ Of(unix.CAP_SYS_RESOURCE),
		NoNewPrivs: true,
	}
	if st != want {
		t.Errorf("parseStatus = %+v\nwant          %+v", st, want)
	}

	old := strings.NewReplacer("CapAmb:\t0000000000000000\n", "", "NoNewPrivs:\t1\n", "").Replace(statusSample)
	if _, err := parseStatus(strings.NewReader(old)); err != nil {
		t.Errorf("status of a kernel without ambient capabilities: %v", err)
	}
	for name, bad := range map[string]string{
		"no CapEff": strings.Replace(statusSample, "CapEff", "CapXXX", 1),
		"bad hex":   strings.Replace(statusSample, "000000c000000000", "00000zc000000000", 1),
	} {
		if _, err := parseStatus(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestCurrent compares /proc/self/status with capget(2).
func TestCurrent(t *testing.T) {
	st, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	got, err := get()
	if err != nil {
		t.Fatal(err)
	}
	if st.Effective != got.Effective || st.Permitted != got.Permitted || st.Inheritable != got.Inheritable {
		t.Errorf("Current() = %+v, capget = %+v", st, got)
	}
}
