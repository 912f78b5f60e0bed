package kube

import (
	"context"
	"sync/atomic"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// APIStats counts what one informer asks of the API server and receives
// from it: the load ebpfmon puts on the control plane. A node-scoped pod
// informer lists once and then keeps one watch open; a list or watch count
// that keeps growing means the watch keeps breaking (see the logs).
type APIStats struct {
	Resource string // "pods" or "services"
	Lists    uint64 // list requests
	Watches  uint64 // watch requests (each one long-lived)
	Errors   uint64 // lists and watches that failed
	Added    uint64 // objects added, from lists and watches
	Updated  uint64 // objects updated
	Deleted  uint64 // objects deleted
}

// apiCounters are an informer's live counts; see APIStats.
type apiCounters struct {
	resource                string
	lists, watches, errors  atomic.Uint64
	added, updated, deleted atomic.Uint64
}

func (c *apiCounters) snapshot() APIStats {
	return APIStats{
		Resource: c.resource,
		Lists:    c.lists.Load(), Watches: c.watches.Load(), Errors: c.errors.Load(),
		Added: c.added.Load(), Updated: c.updated.Load(), Deleted: c.deleted.Load(),
	}
}

// countingListWatch counts the requests of a list-then-watch reflector.
type countingListWatch struct {
	listThenWatch
	n *apiCounters
}

// ListWithContext lists and counts the request.
func (lw countingListWatch) ListWithContext(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
	lw.n.lists.Add(1)
	return lw.listThenWatch.ListWithContext(ctx, o)
}

// WatchWithContext starts a watch and counts the request.
func (lw countingListWatch) WatchWithContext(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	lw.n.watches.Add(1)
	return lw.listThenWatch.WatchWithContext(ctx, o)
}

// List lists and counts the request (for callers without a context).
func (lw countingListWatch) List(o metav1.ListOptions) (runtime.Object, error) {
	return lw.ListWithContext(context.Background(), o)
}

// Watch starts a watch and counts the request (for callers without a context).
func (lw countingListWatch) Watch(o metav1.ListOptions) (watch.Interface, error) {
	return lw.WatchWithContext(context.Background(), o)
}

// counted wraps h so that the objects it receives are counted in n.
func counted(h cache.ResourceEventHandlerFuncs, n *apiCounters) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { n.added.Add(1); h.AddFunc(obj) },
		UpdateFunc: func(old, obj any) { n.updated.Add(1); h.UpdateFunc(old, obj) },
		DeleteFunc: func(obj any) { n.deleted.Add(1); h.DeleteFunc(obj) },
	}
}
