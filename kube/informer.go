package kube

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// watchPods starts the node-scoped pod informer (one list and one watch,
// spec.nodeName=node) and, if services, a cluster-wide service informer, all
// feeding c, until ctx ends. It returns a function that reports whether
// every informer has synced, and the informers' request counts.
func watchPods(ctx context.Context, client rest.Interface, node string, services bool, c *Pods, logger *slog.Logger) (func() bool, []*apiCounters, error) {
	selector := fields.OneTermEqualSelector("spec.nodeName", node).String()
	podStats := &apiCounters{resource: "pods"}
	pods, err := inform(ctx, client, selector, &Pod{}, podStats, logger, handlers(c.SetPod, c.DeletePod))
	if err != nil {
		return nil, nil, fmt.Errorf("kube: watching pods on node %s: %w", node, err)
	}
	synced := []cache.InformerSynced{pods}
	stats := []*apiCounters{podStats}
	if services {
		svcStats := &apiCounters{resource: "services"}
		s, err := inform(ctx, client, "", &Service{}, svcStats, logger, handlers(c.SetService, c.DeleteService))
		if err != nil {
			return nil, nil, fmt.Errorf("kube: watching services: %w", err)
		}
		synced = append(synced, s)
		stats = append(stats, svcStats)
	}
	return func() bool {
		for _, s := range synced {
			if !s() {
				return false
			}
		}
		return true
	}, stats, nil
}

// inform runs an informer of n.resource (in every namespace, restricted by
// the field selector) that hands its objects, slimmed, to h, until ctx
// ends, counting its requests and objects in n. The first failed list or
// watch is logged to logger, once; later ones go to client-go's own log.
func inform(ctx context.Context, client rest.Interface, selector string, example runtime.Object, n *apiCounters, logger *slog.Logger, h cache.ResourceEventHandlerFuncs) (cache.InformerSynced, error) {
	lw := cache.NewFilteredListWatchFromClient(client, n.resource, metav1.NamespaceAll, func(o *metav1.ListOptions) {
		o.FieldSelector = selector
	})
	informer := cache.NewSharedIndexInformerWithOptions(countingListWatch{listThenWatch{lw}, n}, example, cache.SharedIndexInformerOptions{})
	if err := informer.SetTransform(slim); err != nil {
		return nil, err
	}
	if err := informer.SetWatchErrorHandlerWithContext(warnFirstError(n, logger)); err != nil {
		return nil, err
	}
	if _, err := informer.AddEventHandler(counted(h, n)); err != nil {
		return nil, err
	}
	go informer.RunWithContext(ctx)
	return informer.HasSynced, nil
}

// warnFirstError returns a watch error handler that counts every failure to
// list or watch n.resource, logs the first as a warning with the likely fix,
// and hands every later one to client-go's default handler.
func warnFirstError(n *apiCounters, logger *slog.Logger) cache.WatchErrorHandlerWithContext {
	resource := n.resource
	var once sync.Once
	return func(ctx context.Context, r *cache.Reflector, err error) {
		n.errors.Add(1)
		first := false
		once.Do(func() { first = true })
		if !first {
			cache.DefaultWatchErrorHandler(ctx, r, err)
			return
		}
		logger.Warn("cannot list or watch "+resource+" (retrying): check the API server and the ClusterRole (list and watch on "+resource+"); until it works pods are labelled by UID and ebpfmon_kube_api_available is 0",
			"err", err)
	}
}

// listThenWatch makes the reflector list, then watch from the list's
// resource version, rather than stream the list as watch events: a node's
// pods are a small list, and list-then-watch works with every API server.
type listThenWatch struct{ *cache.ListWatch }

// IsWatchListSemanticsUnSupported tells the reflector not to stream lists.
func (listThenWatch) IsWatchListSemanticsUnSupported() bool { return true }

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

// handlers hands the informer's objects of type *T to set when added or
// updated, and to del when deleted (unwrapping a missed deletion's last
// state).
func handlers[T any](set, del func(*T)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if k, ok := obj.(*T); ok {
				set(k)
			}
		},
		UpdateFunc: func(_, obj any) {
			if k, ok := obj.(*T); ok {
				set(k)
			}
		},
		DeleteFunc: func(obj any) {
			if k, ok := tombstone(obj).(*T); ok {
				del(k)
			}
		},
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

// slim keeps of an object's metadata only what the cache reads, so that the
// informer's own store holds little more than the cache: no managed fields,
// owners or finalizers, no annotations but a pod's mirror one. Our types
// already leave out the spec and status the cache does not read.
func slim(obj any) (any, error) {
	switch k := obj.(type) {
	case *Pod:
		k.ObjectMeta = slimMeta(&k.ObjectMeta)
		return k, nil
	case *Service:
		k.ObjectMeta = slimMeta(&k.ObjectMeta)
		return k, nil
	}
	return obj, nil
}

func slimMeta(m *metav1.ObjectMeta) metav1.ObjectMeta {
	out := metav1.ObjectMeta{
		Name:              m.Name,
		Namespace:         m.Namespace,
		UID:               m.UID,
		ResourceVersion:   m.ResourceVersion,
		DeletionTimestamp: m.DeletionTimestamp,
		Labels:            m.Labels,
	}
	if h, ok := m.Annotations[mirrorAnnotation]; ok {
		out.Annotations = map[string]string{mirrorAnnotation: h}
	}
	return out
}
