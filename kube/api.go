package kube

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
)

// The API objects, as this package decodes them: of core/v1 Pod and Service
// only the fields the cache reads, so that the binary carries neither
// k8s.io/api nor client-go's clientset (their schemes register every API
// group, some 50 MB). The JSON the API server sends decodes into them; the
// fields they lack are skipped.

// coreV1 is the core API group's version, served under /api/v1.
func coreV1() schema.GroupVersion { return schema.GroupVersion{Version: "v1"} }

// Pod is the part of a core/v1 Pod the cache reads.
type Pod struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              PodSpec   `json:"spec,omitempty"`
	Status            PodStatus `json:"status,omitempty"`
}

// PodSpec is the part of a pod's spec the cache reads.
type PodSpec struct {
	NodeName    string `json:"nodeName,omitempty"`
	HostNetwork bool   `json:"hostNetwork,omitempty"`
}

// PodStatus is the part of a pod's status the cache reads.
type PodStatus struct {
	// Phase is Pending, Running, Succeeded, Failed or Unknown.
	Phase                      string            `json:"phase,omitempty"`
	PodIP                      string            `json:"podIP,omitempty"`
	PodIPs                     []PodIP           `json:"podIPs,omitempty"`
	InitContainerStatuses      []ContainerStatus `json:"initContainerStatuses,omitempty"`
	ContainerStatuses          []ContainerStatus `json:"containerStatuses,omitempty"`
	EphemeralContainerStatuses []ContainerStatus `json:"ephemeralContainerStatuses,omitempty"`
}

// PodIP is one of a pod's addresses.
type PodIP struct {
	IP string `json:"ip"`
}

// ContainerStatus is the part of a container's status the cache reads: its
// name, and the runtime's ids of its current and last instance.
type ContainerStatus struct {
	Name        string         `json:"name"`
	ContainerID string         `json:"containerID,omitempty"`
	LastState   ContainerState `json:"lastState,omitempty"`
}

// ContainerState is the part of a container's last state the cache reads.
type ContainerState struct {
	Terminated *ContainerStateTerminated `json:"terminated,omitempty"`
}

// ContainerStateTerminated is the id of a container's terminated instance.
type ContainerStateTerminated struct {
	ContainerID string `json:"containerID,omitempty"`
}

// PodList is a list of pods, as the API lists them.
type PodList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Pod `json:"items"`
}

// Service is the part of a core/v1 Service the cache reads.
type Service struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ServiceSpec `json:"spec,omitempty"`
}

// ServiceSpec is a service's ClusterIPs: "None" for a headless service.
type ServiceSpec struct {
	ClusterIP  string   `json:"clusterIP,omitempty"`
	ClusterIPs []string `json:"clusterIPs,omitempty"`
}

// ServiceList is a list of services, as the API lists them.
type ServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Service `json:"items"`
}

// DeepCopy returns a copy of p that shares nothing with it.
func (p *Pod) DeepCopy() *Pod {
	if p == nil {
		return nil
	}
	out := *p
	p.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.Status.PodIPs = slices.Clone(p.Status.PodIPs)
	out.Status.InitContainerStatuses = copyStatuses(p.Status.InitContainerStatuses)
	out.Status.ContainerStatuses = copyStatuses(p.Status.ContainerStatuses)
	out.Status.EphemeralContainerStatuses = copyStatuses(p.Status.EphemeralContainerStatuses)
	return &out
}

func copyStatuses(in []ContainerStatus) []ContainerStatus {
	out := slices.Clone(in)
	for i := range out {
		if t := out[i].LastState.Terminated; t != nil {
			c := *t
			out[i].LastState.Terminated = &c
		}
	}
	return out
}

// DeepCopyObject implements runtime.Object.
func (p *Pod) DeepCopyObject() runtime.Object {
	if p == nil {
		return nil
	}
	return p.DeepCopy()
}

// DeepCopyObject implements runtime.Object.
func (l *PodList) DeepCopyObject() runtime.Object {
	if l == nil {
		return nil
	}
	out := *l
	l.ListMeta.DeepCopyInto(&out.ListMeta)
	out.Items = copyItems(l.Items, (*Pod).DeepCopy)
	return &out
}

// DeepCopy returns a copy of s that shares nothing with it.
func (s *Service) DeepCopy() *Service {
	if s == nil {
		return nil
	}
	out := *s
	s.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.Spec.ClusterIPs = slices.Clone(s.Spec.ClusterIPs)
	return &out
}

// DeepCopyObject implements runtime.Object.
func (s *Service) DeepCopyObject() runtime.Object {
	if s == nil {
		return nil
	}
	return s.DeepCopy()
}

// DeepCopyObject implements runtime.Object.
func (l *ServiceList) DeepCopyObject() runtime.Object {
	if l == nil {
		return nil
	}
	out := *l
	l.ListMeta.DeepCopyInto(&out.ListMeta)
	out.Items = copyItems(l.Items, (*Service).DeepCopy)
	return &out
}

// copyItems copies a list's items with cp; nil stays nil.
func copyItems[T any](in []T, cp func(*T) *T) []T {
	if in == nil {
		return nil
	}
	out := make([]T, len(in))
	for i := range in {
		out[i] = *cp(&in[i])
	}
	return out
}

// newScheme returns a scheme that knows our Pod, PodList, Service and
// ServiceList as core/v1's, and metav1's options, watch events and status.
func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	s.AddKnownTypes(coreV1(), &Pod{}, &PodList{}, &Service{}, &ServiceList{})
	metav1.AddToGroupVersion(s, coreV1())
	return s
}

// newRESTClient returns a client of the core/v1 API at cfg that decodes into
// our types.
func newRESTClient(cfg *rest.Config) (*rest.RESTClient, error) {
	c := rest.CopyConfig(cfg)
	c.APIPath = "/api"
	gv := coreV1()
	c.GroupVersion = &gv
	c.NegotiatedSerializer = serializer.NewCodecFactory(newScheme()).WithoutConversion()
	c.ContentType = runtime.ContentTypeJSON
	if c.UserAgent == "" {
		c.UserAgent = "ebpfmon"
	}
	client, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("kube: API client for %s: %w", c.Host, err)
	}
	return client, nil
}
