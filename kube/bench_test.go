package kube

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// syntheticPods returns n pods shaped like a typical workload's: five labels,
// two containers (one restarted), one init container, one IP each.
func syntheticPods(n int) []*Pod {
	pods := make([]*Pod, n)
	for i := range pods {
		id := func(k int) string { return fmt.Sprintf("containerd://%056x%08x", i, k) }
		pods[i] = &Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name:      fmt.Sprintf("checkout-7d9f8b6c5d-%05d", i),
				Namespace: fmt.Sprintf("team-%02d", i%50),
				UID:       types.UID(fmt.Sprintf("0b8c6e1a-%04x-4000-8000-%012x", i>>16, i)),
				Labels: map[string]string{
					"app.kubernetes.io/name":      "checkout",
					"app.kubernetes.io/instance":  fmt.Sprintf("checkout-%d", i%20),
					"app.kubernetes.io/version":   "1.4.2",
					"app.kubernetes.io/component": "api",
					"pod-template-hash":           "7d9f8b6c5d",
				},
			},
			Spec: PodSpec{NodeName: "node-a"},
			Status: PodStatus{
				Phase:  "Running",
				PodIP:  netip.AddrFrom4([4]byte{10, 88, byte(i >> 8), byte(i)}).String(),
				PodIPs: []PodIP{{IP: netip.AddrFrom4([4]byte{10, 88, byte(i >> 8), byte(i)}).String()}},
				InitContainerStatuses: []ContainerStatus{
					{Name: "migrate", ContainerID: id(0)},
				},
				ContainerStatuses: []ContainerStatus{
					{Name: "app", ContainerID: id(1), LastState: ContainerState{
						Terminated: &ContainerStateTerminated{ContainerID: id(2)},
					}},
					{Name: "envoy", ContainerID: id(3)},
				},
			},
		}
	}
	return pods
}

// BenchmarkPodsLoad loads synthetic pods into a cache and reports the heap
// the cache holds per 1,000 pods ("cache-bytes/1000pods": its maps and
// entries and the strings and label maps it keeps of the API objects), and
// with the informer's store of slimmed pods beside it, which shares those
// strings ("with-store-bytes/1000pods": what a node's pods cost the process).
func BenchmarkPodsLoad(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("pods=%d", n), func(b *testing.B) {
			var cacheOnly, withStore float64
			for b.Loop() {
				before := heapInUse()
				pods := syntheticPods(n)
				store := make([]*Pod, n)
				c := NewPods(DefaultGrace, nil)
				for i, k := range pods {
					store[i] = slimmed(k)
					c.SetPod(store[i])
				}
				pods = nil
				withStore = float64(heapInUse()-before) / float64(n) * 1000
				runtime.KeepAlive(store)
				store = nil
				cacheOnly = float64(heapInUse()-before) / float64(n) * 1000
				runtime.KeepAlive(c)
			}
			b.ReportMetric(cacheOnly, "cache-bytes/1000pods")
			b.ReportMetric(withStore, "with-store-bytes/1000pods")
		})
	}
}

// slimmed is what the informer hands the cache: the pod after slim.
func slimmed(k *Pod) *Pod {
	s, _ := slim(k.DeepCopy())
	return s.(*Pod)
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkResolverPod is the per-series cost of a pod decoder: parse the
// cgroup path, look the pod and container up.
func BenchmarkResolverPod(b *testing.B) {
	pods := syntheticPods(10_000)
	c := NewPods(DefaultGrace, nil)
	for _, k := range pods {
		c.SetPod(k)
	}
	r := &Resolver{pods: c}
	k := pods[4321]
	path := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" +
		string(k.UID) + ".slice/cri-containerd-" + containerID(k.Status.ContainerStatuses[0].ContainerID) + ".scope"
	b.ReportAllocs()
	for b.Loop() {
		if info, ok := r.Pod(path); !ok || info.Container != "app" {
			b.Fatalf("Pod = %+v, %v", info, ok)
		}
	}
}

// BenchmarkResolverPeer is the per-series cost of a peer decoder.
func BenchmarkResolverPeer(b *testing.B) {
	c := NewPods(DefaultGrace, nil)
	for _, k := range syntheticPods(10_000) {
		c.SetPod(k)
	}
	r := &Resolver{pods: c}
	ip := netip.MustParseAddr("10.88.16.225") // pod 4321
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := r.Peer(ip); !ok {
			b.Fatal("no peer")
		}
	}
}

// BenchmarkServicesList is the service informer's initial list of a large
// cluster: 10,000 services added one by one under the write lock, as the
// informer's handlers do, then every one updated and deleted.
func BenchmarkServicesList(b *testing.B) {
	const n = 10_000
	svcs := make([]*Service, n)
	for i := range svcs {
		svcs[i] = &Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprint("svc-", i)},
			Spec:       ServiceSpec{ClusterIP: fmt.Sprintf("10.96.%d.%d", i/250, i%250+1)},
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		c := NewPods(time.Minute, nil)
		for _, s := range svcs {
			c.SetService(s)
		}
		for _, s := range svcs {
			c.SetService(s)
		}
		for _, s := range svcs {
			c.DeleteService(s)
		}
	}
}
