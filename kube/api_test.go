package kube

import (
	"os"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// decode decodes an API object as the informer's client does.
func decode(data []byte) (runtime.Object, error) {
	codecs := serializer.NewCodecFactory(newScheme())
	obj, _, err := codecs.UniversalDeserializer().Decode(data, nil, nil)
	return obj, err
}

// TestDecodePod decodes a pod as the API server sends it (a static pod's
// mirror, with the fields the cache skips) into our Pod.
func TestDecodePod(t *testing.T) {
	data, err := os.ReadFile("testdata/pod.json")
	if err != nil {
		t.Fatal(err)
	}
	obj, err := decode(data)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := obj.(*Pod)
	if !ok {
		t.Fatalf("decoded %T, want *Pod", obj)
	}
	deleted := metav1.NewTime(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).Local()) // as metav1.Time decodes
	want := &Pod{
		TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "etcd-node-a", Namespace: "kube-system", UID: "0b8c6e1a-3f2d-4c5b-9a8e-7d6c5b4a3921",
			ResourceVersion: "48213", DeletionTimestamp: &deleted,
			Labels: map[string]string{"component": "etcd", "tier": "control-plane"},
		},
		Spec: PodSpec{NodeName: "node-a", HostNetwork: true},
		Status: PodStatus{
			Phase: "Running", PodIP: "172.18.0.2",
			PodIPs: []PodIP{{IP: "172.18.0.2"}, {IP: "fc00:f853:ccd:e793::2"}},
			ContainerStatuses: []ContainerStatus{{
				Name: "etcd", ContainerID: "containerd://3f7c2a9e",
				LastState: ContainerState{Terminated: &ContainerStateTerminated{ContainerID: "containerd://1a2b3c4d"}},
			}},
		},
	}
	s, err := slim(got)
	if err != nil {
		t.Fatal(err)
	}
	got = s.(*Pod)
	if got.Annotations[mirrorAnnotation] != "5D0E3A9C1F0B4A7E8D2C6B1A9F3E7D40" || len(got.Annotations) != 1 {
		t.Errorf("annotations %v, want the mirror one", got.Annotations)
	}
	got.Annotations = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", got, want)
	}
}

// TestDecodeService decodes a dual-stack service.
func TestDecodeService(t *testing.T) {
	obj, err := decode([]byte(`{"kind":"Service","apiVersion":"v1","metadata":{"name":"api","namespace":"shop"},
		"spec":{"type":"ClusterIP","clusterIP":"10.96.0.10","clusterIPs":["10.96.0.10","fd00:96::10"],"ports":[{"port":443}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Service{
		TypeMeta:   metav1.TypeMeta{Kind: "Service", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop"},
		Spec:       ServiceSpec{ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10", "fd00:96::10"}},
	}
	if got, ok := obj.(*Service); !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v, want %+v", obj, want)
	}
}

// TestDeepCopy checks that a copy shares nothing with the original: changing
// every slice, map and pointer of the copy leaves the original as it was.
func TestDeepCopy(t *testing.T) {
	k := testPod("web", uid, "10.88.0.7")
	k.Status.ContainerStatuses[0].LastState.Terminated = &ContainerStateTerminated{ContainerID: "containerd://" + nodeID}
	k.Status.InitContainerStatuses = []ContainerStatus{{Name: "init"}}
	k.Status.EphemeralContainerStatuses = []ContainerStatus{{Name: "debug"}}
	list := &PodList{Items: []Pod{*k.DeepCopy()}}
	orig := list.DeepCopyObject().(*PodList)
	cp := list.DeepCopyObject().(*PodList)
	p := &cp.Items[0]
	p.Labels["app"] = "x"
	p.Status.PodIPs[0].IP = "x"
	p.Status.ContainerStatuses[0].Name = "x"
	p.Status.ContainerStatuses[0].LastState.Terminated.ContainerID = "x"
	p.Status.InitContainerStatuses[0].Name = "x"
	p.Status.EphemeralContainerStatuses[0].Name = "x"
	if !reflect.DeepEqual(list, orig) {
		t.Fatalf("changing a copy changed the original: %+v", list.Items[0])
	}

	svc := &ServiceList{Items: []Service{{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Labels: map[string]string{"a": "b"}},
		Spec:       ServiceSpec{ClusterIPs: []string{"10.96.0.10"}},
	}}}
	sOrig := svc.DeepCopyObject().(*ServiceList)
	sCopy := svc.DeepCopyObject().(*ServiceList)
	sCopy.Items[0].Labels["a"] = "x"
	sCopy.Items[0].Spec.ClusterIPs[0] = "x"
	if !reflect.DeepEqual(svc, sOrig) {
		t.Fatalf("changing a copy changed the original: %+v", svc.Items[0])
	}
}

// FuzzDecodePod decodes arbitrary bytes as a pod: no panic, and what decodes
// copies equal to itself and builds a cache entry.
func FuzzDecodePod(f *testing.F) {
	if data, err := os.ReadFile("testdata/pod.json"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"kind":"Pod","apiVersion":"v1","status":{"podIPs":[{"ip":"::1"}],"containerStatuses":[{"lastState":{"terminated":{}}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := decode(data)
		if err != nil {
			return
		}
		if k, ok := obj.(*Pod); ok {
			if c := k.DeepCopy(); !reflect.DeepEqual(c, k) {
				t.Fatalf("copy %+v differs from %+v", c, k)
			}
			newPod(k)
		}
	})
}
