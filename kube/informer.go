package kube

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// watchPods starts the node-scoped pod informer (one list and one watch,
// spec.nodeName=node) and, if services, a cluster-wide service informer, all
// feeding c, until ctx ends. It returns a function that reports whether
// every informer has synced.
func watchPods(ctx context.Context, client kubernetes.Interface, node string, services bool, c *Pods) (func() bool, error) {
	podFactory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", node).String()
		}),
		informers.WithTransform(slimPod))
	podInformer := podFactory.Core().V1().Pods().Informer()
	_, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { setPod(c, obj) },
		UpdateFunc: func(_, obj any) { setPod(c, obj) },
		DeleteFunc: func(obj any) {
			if k, ok := tombstone(obj).(*corev1.Pod); ok {
				c.DeletePod(k)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("kube: watching pods on node %s: %w", node, err)
	}
	synced := []cache.InformerSynced{podInformer.HasSynced}
	podFactory.Start(ctx.Done())
	if services {
		s, err := watchServices(ctx, client, c)
		if err != nil {
			return nil, err
		}
		synced = append(synced, s)
	}
	return func() bool {
		for _, s := range synced {
			if !s() {
				return false
			}
		}
		return true
	}, nil
}

// watchServices starts a cluster-wide service informer feeding c.
func watchServices(ctx context.Context, client kubernetes.Interface, c *Pods) (cache.InformerSynced, error) {
	factory := informers.NewSharedInformerFactory(client, 0)
	informer := factory.Core().V1().Services().Informer()
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { setService(c, obj) },
		UpdateFunc: func(_, obj any) { setService(c, obj) },
		DeleteFunc: func(obj any) {
			if k, ok := tombstone(obj).(*corev1.Service); ok {
				c.DeleteService(k)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("kube: watching services: %w", err)
	}
	factory.Start(ctx.Done())
	return informer.HasSynced, nil
}

// sweepEvery calls c.Sweep every interval until ctx ends.
func sweepEvery(ctx context.Context, c *Pods, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.Sweep()
		}
	}
}

func setPod(c *Pods, obj any) {
	if k, ok := obj.(*corev1.Pod); ok {
		c.SetPod(k)
	}
}

func setService(c *Pods, obj any) {
	if k, ok := obj.(*corev1.Service); ok {
		c.SetService(k)
	}
}

// tombstone unwraps the last known state of an object whose deletion the
// watch missed.
func tombstone(obj any) any {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}

// slimPod keeps of a pod only what the cache reads, so that the informer's
// own store holds little more than the cache: no managed fields, no
// annotations but the mirror one, no spec but the node and hostNetwork, no
// status but the phase, the IPs and the containers' ids.
func slimPod(obj any) (any, error) {
	k, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	slim := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            k.Name,
			Namespace:       k.Namespace,
			UID:             k.UID,
			ResourceVersion: k.ResourceVersion,
			Labels:          k.Labels,
		},
		Spec: corev1.PodSpec{NodeName: k.Spec.NodeName, HostNetwork: k.Spec.HostNetwork},
		Status: corev1.PodStatus{
			Phase:                      k.Status.Phase,
			PodIP:                      k.Status.PodIP,
			PodIPs:                     k.Status.PodIPs,
			InitContainerStatuses:      slimStatuses(k.Status.InitContainerStatuses),
			ContainerStatuses:          slimStatuses(k.Status.ContainerStatuses),
			EphemeralContainerStatuses: slimStatuses(k.Status.EphemeralContainerStatuses),
		},
	}
	if h, ok := k.Annotations[mirrorAnnotation]; ok {
		slim.Annotations = map[string]string{mirrorAnnotation: h}
	}
	return slim, nil
}

func slimStatuses(list []corev1.ContainerStatus) []corev1.ContainerStatus {
	if len(list) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, len(list))
	for i, cs := range list {
		out[i] = corev1.ContainerStatus{Name: cs.Name, ContainerID: cs.ContainerID}
		if t := cs.LastTerminationState.Terminated; t != nil {
			out[i].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ContainerID: t.ContainerID}
		}
	}
	return out
}
