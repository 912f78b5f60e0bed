package exporter

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/kube"
	"github.com/ebpfmon/ebpfmon/lifecycle"
)

// healthCollector collects the health metrics of fixed unit snapshots.
type healthCollector struct {
	e      *Exporter
	health []lifecycle.Health
}

func (c healthCollector) Describe(chan<- *prometheus.Desc) {}

func (c healthCollector) Collect(ch chan<- prometheus.Metric) {
	for _, h := range c.health {
		c.e.collectUnit(ch, h)
	}
}

// TestDecoderErrorsMetric checks ebpfmon_decoder_errors_total has a map
// label and a series for every map, 0 included (issue 7, item 3). The
// unit's side is lifecycle's TestDecoderErrorsByMap.
func TestDecoderErrorsMetric(t *testing.T) {
	e := New(lifecycle.Options{Namespace: "ebpfmon"})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(healthCollector{e, []lifecycle.Health{{Config: "c", DecodeErrors: []lifecycle.MapCount{{Map: "a", Count: 3}, {Map: "b"}}}}})
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "ebpfmon_decoder_errors_total" {
			continue
		}
		for _, m := range f.Metric {
			labels := map[string]string{}
			for _, lp := range m.Label {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["config"] != "c" {
				t.Errorf("config label %q", labels["config"])
			}
			got[labels["map"]] = m.GetCounter().GetValue()
		}
	}
	if len(got) != 2 || got["a"] != 3 || got["b"] != 0 {
		t.Errorf("decoder errors by map = %v, want a=3 b=0", got)
	}
	if n, err := testutil.GatherAndCount(reg, "ebpfmon_decoder_errors_total"); err != nil || n != 2 {
		t.Errorf("%d series, %v", n, err)
	}
}

// TestProgramMetrics checks what a program exports: ebpf_program_info only
// with its id and tag, the run metrics only with its stats; a program the
// kernel could tell nothing about exports ebpf_program_attached alone (not
// zeros). The unit's side is lifecycle's TestProgramInfoErrors.
func TestProgramMetrics(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    lifecycle.ProgramHealth
		want []string
	}{
		{"nothing known", lifecycle.ProgramHealth{Name: "p"}, []string{"ebpf_program_attached"}},
		{"info and stats", lifecycle.ProgramHealth{Name: "p", ID: 7, Tag: "ab", InfoOK: true, Stats: &ebpf.ProgramStats{RunCount: 2}},
			[]string{"ebpf_program_info", "ebpf_program_attached", "ebpf_program_run_time_seconds_total", "ebpf_program_run_count_total"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := New(lifecycle.Options{Namespace: "ebpfmon"})
			ch := make(chan prometheus.Metric, 16)
			e.collectProgram(ch, "c", tc.p)
			close(ch)
			var got []string
			for m := range ch {
				got = append(got, m.Desc().String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], `"ebpfmon_`+w+`"`) {
					t.Errorf("metric %d is %s, want %s", i, got[i], w)
				}
			}
		})
	}
}

// TestKubeAPIAvailable checks ebpfmon_kube_api_available: absent until a
// pod decoder is built (the Resolver is made then), then 1 with API access
// and 0 without.
func TestKubeAPIAvailable(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *kube.Resolver
		want string
	}{
		{"online", kube.NewResolverWith(kube.NewPods(0, nil)), "1"},
		{"offline", kube.NewResolverWith(nil), "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := decoder.NewEnv(decoder.WithKubeResolver(tc.r))
			e := New(lifecycle.Options{Namespace: "ebpfmon", Env: env})
			if n := testutil.CollectAndCount(e, "ebpfmon_kube_api_available"); n != 0 {
				t.Fatalf("before any pod decoder: %d series, want none", n)
			}
			if _, err := decoder.New(config.Decoder{Name: "pod"}, env); err != nil {
				t.Fatal(err)
			}
			if err := testutil.CollectAndCompare(e, strings.NewReader(kubeExposition(tc.want)), "ebpfmon_kube_api_available"); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestKubeCachedPods checks ebpfmon_kube_cached_pods: the pods in the
// cache, sent only with API access.
func TestKubeCachedPods(t *testing.T) {
	pods := kube.NewPods(0, nil)
	pods.SetPod(&kube.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "1b4e28ba-2fa1-11d2-883f-0016d3cca427"}})
	for _, tc := range []struct {
		name string
		r    *kube.Resolver
		want float64 // -1: absent
	}{
		{"online", kube.NewResolverWith(pods), 1},
		{"offline", kube.NewResolverWith(nil), -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := decoder.NewEnv(decoder.WithKubeResolver(tc.r))
			e := New(lifecycle.Options{Namespace: "ebpfmon", Env: env})
			if _, err := decoder.New(config.Decoder{Name: "pod"}, env); err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(e)
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			got := -1.0
			for _, mf := range mfs {
				if mf.GetName() == "ebpfmon_kube_cached_pods" {
					got = mf.GetMetric()[0].GetGauge().GetValue()
				}
			}
			if got != tc.want {
				t.Errorf("ebpfmon_kube_cached_pods = %v, want %v (-1: absent)", got, tc.want)
			}
		})
	}
}

func kubeExposition(value string) string {
	return "# HELP ebpfmon_kube_api_available Whether the pod, pod_namespace, container and peer_pod decoders have Kubernetes API access and have listed this node's pods (1), or resolve from cgroup paths alone (0: no API access, the list failing or not in yet; pod UIDs and container ids, empty namespaces, every peer unknown). Absent until a config uses one of these decoders.\n" +
		"# TYPE ebpfmon_kube_api_available gauge\n" +
		"ebpfmon_kube_api_available " + value + "\n"
}
