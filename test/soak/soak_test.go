package main

import (
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    proc
		wantErr string
	}{{
		name: "running",
		in:   "Name:\tebpfmon\nState:\tS (sleeping)\nVmHWM:\t   92928 kB\nVmRSS:\t   88960 kB\nThreads:\t12\n",
		want: proc{rssKiB: 88960, hwmKiB: 92928, threads: 12, state: "S"},
	}, {
		name: "zombie has no Vm lines",
		in:   "Name:\tebpfmon\nState:\tZ (zombie)\nThreads:\t1\n",
		want: proc{threads: 1, state: "Z"},
	}, {
		name:    "no VmRSS",
		in:      "State:\tR (running)\nVmHWM:\t1 kB\nThreads:\t1\n",
		wantErr: "no VmRSS line",
	}, {
		name:    "not a number",
		in:      "State:\tR (running)\nVmRSS:\tlots kB\n",
		wantErr: `VmRSS: "lots" is not a number`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add("State:\tS (sleeping)\nVmHWM:\t 1 kB\nVmRSS:\t 1 kB\nThreads:\t1\n")
	f.Add("VmRSS:\n:\nState:")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseStatus(strings.NewReader(s))
		if err == nil && p.state != "" && !strings.HasPrefix(p.state, "Z") && !strings.HasPrefix(p.state, "X") &&
			!strings.Contains(s, "VmRSS") {
			t.Fatalf("no VmRSS in %q, yet no error", s)
		}
	})
}

func TestGrowth(t *testing.T) {
	// series makes a sample a second for 3 minutes, from fn.
	series := func(fn func(sec int) sample) []sample {
		var s []sample
		for i := range 180 {
			x := fn(i)
			x.at = time.Duration(i) * time.Second
			s = append(s, x)
		}
		return s
	}
	b := bounds{rssKiB: 8 << 10, fds: 4, goroutines: 4, window: time.Minute}
	tests := []struct {
		name string
		s    []sample
		over []string // the figures over their bound
	}{{
		name: "flat",
		s:    series(func(int) sample { return sample{rssKiB: 60 << 10, fds: 180, goroutines: 18} }),
	}, {
		name: "peaks every 10 s are not growth",
		s: series(func(i int) sample {
			if i%10 == 5 {
				return sample{rssKiB: 200 << 10, fds: 250, goroutines: 80}
			}
			return sample{rssKiB: 60 << 10, fds: 180, goroutines: 18}
		}),
	}, {
		name: "a peak in the last window only is not growth",
		s: series(func(i int) sample {
			if i >= 170 {
				return sample{rssKiB: 200 << 10, fds: 250, goroutines: 80}
			}
			return sample{rssKiB: 60 << 10, fds: 180, goroutines: 18}
		}),
	}, {
		name: "an fd a second",
		s:    series(func(i int) sample { return sample{rssKiB: 60 << 10, fds: 180 + int64(i), goroutines: 18} }),
		over: []string{"fds"},
	}, {
		name: "RSS and goroutines creep",
		s: series(func(i int) sample {
			return sample{rssKiB: 60<<10 + int64(i)*100, fds: 180, goroutines: 18 + float64(i/20)}
		}),
		over: []string{"RSS", "goroutines"},
	}, {
		name: "growth at the bound is allowed",
		s: series(func(i int) sample {
			if i >= 120 {
				return sample{rssKiB: 68 << 10, fds: 184, goroutines: 22}
			}
			return sample{rssKiB: 60 << 10, fds: 180, goroutines: 18}
		}),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report, over, err := b.growth(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if len(report) != 3 {
				t.Errorf("report %q, want 3 lines", report)
			}
			var got []string
			for _, line := range over {
				got = append(got, strings.Fields(line)[0])
			}
			if strings.Join(got, ",") != strings.Join(tt.over, ",") {
				t.Errorf("over the bounds: %q, want %q", over, tt.over)
			}
		})
	}
	if _, _, err := b.growth(series(func(int) sample { return sample{} })[:100]); err == nil {
		t.Error("100 s of samples: no error, want one (two 1-minute windows needed)")
	}
}

func TestSetConstant(t *testing.T) {
	const podnet = "# sample_every: comment\nconstants:\n  sample_every: 1\n  port: 0\nmetrics:\n  counters:\n    - name: x\n"
	tests := []struct {
		name, in, constant, value, want, wantErr string
	}{{
		name: "set", in: podnet, constant: "sample_every", value: "2",
		want: "# sample_every: comment\nconstants:\n  sample_every: 2\n  port: 0\nmetrics:\n  counters:\n    - name: x\n",
	}, {
		name: "another", in: podnet, constant: "port", value: "53",
		want: "# sample_every: comment\nconstants:\n  sample_every: 1\n  port: 53\nmetrics:\n  counters:\n    - name: x\n",
	}, {
		name: "not a constant", in: podnet, constant: "name", value: "y",
		wantErr: "constant name found 0 times",
	}, {
		name: "no constants section", in: "metrics:\n  sample_every: 1\n", constant: "sample_every", value: "2",
		wantErr: "found 0 times",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := setConstant([]byte(tt.in), tt.constant, tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	fam := func(names ...string) families {
		f := families{}
		for _, n := range names {
			f[n] = &dto.MetricFamily{Name: proto.String(n)}
		}
		return f
	}
	own := map[string]string{"ebpfmon_execs_total": "exec", "ebpfmon_pod_network_receive_bytes_total": "podnet"}
	base := newBaseline(fam("ebpfmon_execs_total", "ebpfmon_pod_network_receive_bytes_total", "go_goroutines"), own)
	tests := []struct {
		name  string
		now   families
		grace map[string]bool
		want  string
	}{
		{name: "all there", now: fam("ebpfmon_execs_total", "ebpfmon_pod_network_receive_bytes_total", "go_goroutines", "new_one")},
		{name: "an example's", now: fam("ebpfmon_pod_network_receive_bytes_total", "go_goroutines"), want: "exec: ebpfmon_execs_total"},
		{name: "ebpfmon's own", now: fam("ebpfmon_pod_network_receive_bytes_total", "ebpfmon_execs_total"), want: selfOwner + ": go_goroutines"},
		{name: "reopened, in grace", now: fam("ebpfmon_execs_total", "go_goroutines"), grace: map[string]bool{"podnet": true}},
		{name: "reopened, grace over", now: fam("ebpfmon_execs_total", "go_goroutines"), grace: map[string]bool{"podnet": false},
			want: "podnet: ebpfmon_pod_network_receive_bytes_total"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(base.missing(tt.now, tt.grace), ","); got != tt.want {
				t.Errorf("missing %q, want %q", got, tt.want)
			}
		})
	}
}

func TestChanged(t *testing.T) {
	body := "added: \nchanged: podnet timers\nremoved: \nunchanged: exec\nfailed: \n"
	for _, tt := range []struct {
		config string
		want   bool
	}{{"podnet", true}, {"timers", true}, {"exec", false}, {"pod", false}} {
		if got := changed(body, tt.config); got != tt.want {
			t.Errorf("changed(%s) = %t, want %t", tt.config, got, tt.want)
		}
	}
}
