package kube

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// fakeAPI is a Kubernetes API server of pods and services for the informer
// tests. It serves lists and watches over HTTP, in JSON, as the API server
// does: a watch replays the events after its resource version, then streams
// new ones. It filters pods by a spec.nodeName field selector and records
// every request.
type fakeAPI struct {
	t    testing.TB
	srv  *httptest.Server
	done chan struct{} // closed at cleanup: ends open watches

	mu       sync.Mutex
	rv       int
	objects  map[string]map[string]any // resource -> namespace/name -> *Pod or *Service
	log      []logged
	wake     chan struct{} // closed and replaced on every event
	requests []apiRequest
	status   int    // if set, every request fails with it (403: RBAC)
	onList   func() // if set, runs before each list is answered (a slow API)
}

// logged is an event as a watch replays it.
type logged struct {
	rv       int
	resource string
	node     string // a pod's spec.nodeName
	event    watchEvent
}

// watchEvent is one line of a watch stream.
type watchEvent struct {
	Type   string `json:"type"`
	Object any    `json:"object"`
}

// apiRequest is a request the server answered.
type apiRequest struct {
	resource      string
	watch         bool
	fieldSelector string
}

// newFakeAPI starts a server that closes at the end of the test.
func newFakeAPI(t testing.TB) *fakeAPI {
	a := &fakeAPI{
		t:       t,
		done:    make(chan struct{}),
		objects: map[string]map[string]any{"pods": {}, "services": {}},
		wake:    make(chan struct{}),
	}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(func() {
		close(a.done)
		a.srv.Close()
	})
	return a
}

// fail makes every later request fail with the HTTP status.
func (a *fakeAPI) fail(status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status = status
}

// beforeList makes f run before each later list is answered.
func (a *fakeAPI) beforeList(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.onList = f
}

// config is the client config of the server.
func (a *fakeAPI) config() *rest.Config { return &rest.Config{Host: a.srv.URL} }

// put adds (ADDED) or replaces (MODIFIED) a pod or service, a copy of obj.
func (a *fakeAPI) put(obj any) {
	switch k := obj.(type) {
	case *Pod:
		obj = k.DeepCopy()
	case *Service:
		obj = k.DeepCopy()
	default:
		a.t.Errorf("fakeAPI: put %T, want a *Pod or *Service", obj)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	resource, meta, node := describe(obj)
	a.rv++
	meta.ResourceVersion = strconv.Itoa(a.rv)
	key := meta.Namespace + "/" + meta.Name
	typ := "MODIFIED"
	if _, ok := a.objects[resource][key]; !ok {
		typ = "ADDED"
	}
	a.objects[resource][key] = obj
	a.emit(resource, node, watchEvent{typ, obj})
}

// remove deletes a pod or service (DELETED, with its last state).
func (a *fakeAPI) remove(resource, namespace, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	key := namespace + "/" + name
	obj, ok := a.objects[resource][key]
	if !ok {
		a.t.Errorf("fakeAPI: remove %s %s: not found", resource, key)
		return
	}
	delete(a.objects[resource], key)
	_, meta, node := describe(obj)
	a.rv++
	meta.ResourceVersion = strconv.Itoa(a.rv)
	a.emit(resource, node, watchEvent{"DELETED", obj})
}

// bookmark sends a BOOKMARK of the current resource version to every
// watch of resource.
func (a *fakeAPI) bookmark(resource, kind string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rv++
	obj := map[string]any{"kind": kind, "apiVersion": "v1", "metadata": map[string]any{"resourceVersion": strconv.Itoa(a.rv)}}
	a.emit(resource, "", watchEvent{"BOOKMARK", obj})
}

func (a *fakeAPI) emit(resource, node string, e watchEvent) {
	a.log = append(a.log, logged{a.rv, resource, node, e})
	close(a.wake)
	a.wake = make(chan struct{})
}

// describe returns a stored object's resource, metadata and node, setting
// its kind as the API server does.
func describe(obj any) (string, *metav1.ObjectMeta, string) {
	if k, ok := obj.(*Pod); ok {
		k.TypeMeta = metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}
		return "pods", &k.ObjectMeta, k.Spec.NodeName
	}
	k := obj.(*Service) // put stores nothing else
	k.TypeMeta = metav1.TypeMeta{Kind: "Service", APIVersion: "v1"}
	return "services", &k.ObjectMeta, ""
}

// requestsOf returns the requests for resource.
func (a *fakeAPI) requestsOf(resource string) []apiRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []apiRequest
	for _, r := range a.requests {
		if r.resource == resource {
			out = append(out, r)
		}
	}
	return out
}

func (a *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	resource, ok := strings.CutPrefix(r.URL.Path, "/api/v1/")
	q := r.URL.Query()
	if !ok || (resource != "pods" && resource != "services") || r.Method != http.MethodGet {
		http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`, http.StatusNotFound)
		return
	}
	node := ""
	if sel := q.Get("fieldSelector"); sel != "" {
		var found bool
		if node, found = strings.CutPrefix(sel, "spec.nodeName="); !found || resource != "pods" {
			http.Error(w, "unsupported field selector "+sel, http.StatusBadRequest)
			return
		}
	}
	watch := q.Get("watch") == "true"
	a.mu.Lock()
	a.requests = append(a.requests, apiRequest{resource, watch, q.Get("fieldSelector")})
	status, onList := a.status, a.onList
	a.mu.Unlock()
	if status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":%d,"message":"%s is forbidden"}`, status, resource)
		return
	}
	if !watch && onList != nil {
		onList()
	}
	if watch {
		from, _ := strconv.Atoi(q.Get("resourceVersion"))
		a.watch(w, r, resource, node, from)
		return
	}
	a.list(w, resource, node)
}

func (a *fakeAPI) list(w http.ResponseWriter, resource, node string) {
	a.mu.Lock()
	items := []any{}
	for _, obj := range a.objects[resource] {
		if _, _, n := describe(obj); node == "" || n == node {
			items = append(items, obj)
		}
	}
	kind := map[string]string{"pods": "PodList", "services": "ServiceList"}[resource]
	body, err := json.Marshal(map[string]any{
		"kind": kind, "apiVersion": "v1",
		"metadata": map[string]any{"resourceVersion": strconv.Itoa(a.rv)},
		"items":    items,
	})
	a.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// watch streams the events of resource (on node, if set) after from, until
// the client or the test ends.
func (a *fakeAPI) watch(w http.ResponseWriter, r *http.Request, resource, node string, from int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher := w.(http.Flusher)
	enc := json.NewEncoder(w)
	next := 0
	for {
		a.mu.Lock()
		var out []any
		for _, e := range a.log[next:] {
			if e.rv > from && e.resource == resource && (node == "" || e.node == "" || e.node == node) {
				b, err := json.Marshal(e.event) // under the lock: objects change
				if err != nil {
					a.t.Errorf("fakeAPI: %v", err)
				}
				out = append(out, json.RawMessage(b))
			}
		}
		next = len(a.log)
		wake := a.wake
		a.mu.Unlock()
		for _, b := range out {
			if enc.Encode(b) != nil {
				return
			}
		}
		flusher.Flush()
		select {
		case <-wake:
		case <-r.Context().Done():
			return
		case <-a.done:
			return
		}
	}
}
