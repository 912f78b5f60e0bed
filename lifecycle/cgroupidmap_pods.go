package lifecycle

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/kube"
)

// errSelectorOffline is a selector's error on a host without API access.
var errSelectorOffline = errors.New("cgroup_id_map.selector needs the Kubernetes API: run in a pod with NODE_NAME and RBAC, or use regexps")

// podSource is what a pod selection asks of the pod cache; a
// *kube.Resolver is one.
type podSource interface {
	// Online reports whether there is API access at all.
	Online() bool
	// Synced reports whether the cache has listed the node's pods once.
	Synced() bool
	// Changes moves whenever a pod is added, changed or gone.
	Changes() uint64
	// PodByUID returns the pod with the UID of a cgroup path.
	PodByUID(uid string) (kube.PodMeta, bool)
}

// podSelection selects the cgroups of the pods a selector selects: the
// pod-level cgroup, each container's and those below them. A cgroup's pod
// UID comes from its path (kube.ParseCgroupPath, parsed once per cgroup);
// the pod's namespace and labels from the pod cache. A pod the cache does
// not know (not listed yet, swept after its grace period) is not selected;
// a deleted one still in its grace period is, until its cgroups go.
type podSelection struct {
	sel  *kube.Selector
	pods podSource
	log  *slog.Logger

	refs     map[uint64]podRef // every cgroup of the last want: its pod UID (updated in place)
	seen     uint64            // pods.Changes() when want last ran
	filled   bool              // want has run
	synced   bool              // the cache had synced when want last ran
	warned   bool              // the unsynced cache was logged
	selected map[string]bool   // UIDs of the pods with a cgroup in the last want
	cgroups  int               // cgroups in the last want
}

// podRef caches the pod UID of a cgroup's path ("" for a cgroup outside
// every pod); the path is kept to be sure, as in match.
type podRef struct {
	path, uid string
}

// newPodSelection builds the selection of cfg's pods, read from pods,
// which must be online.
func newPodSelection(cfg *config.PodSelector, pods podSource, log *slog.Logger) (*podSelection, error) {
	if pods == nil || !pods.Online() {
		return nil, errSelectorOffline
	}
	exprs := make([]kube.Requirement, len(cfg.MatchExpressions))
	for i, e := range cfg.MatchExpressions {
		exprs[i] = kube.Requirement{Key: e.Key, Operator: kube.Operator(e.Operator), Values: e.Values}
	}
	sel, err := kube.NewSelector(cfg.Namespaces, cfg.MatchLabels, exprs)
	if err != nil {
		return nil, fmt.Errorf("cgroup_id_map.selector: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &podSelection{sel: sel, pods: pods, log: log, refs: map[uint64]podRef{}}, nil
}

func (s *podSelection) want(paths map[uint64]string) map[uint64]string {
	s.seen = s.pods.Changes() // before the lookups: a change during them moves it again
	synced := s.pods.Synced()
	selected := map[string]bool{} // by pod UID, for the pods met in paths
	want := map[uint64]string{}
	var pods []string // the UIDs selected
	for id, p := range paths {
		r, seen := s.refs[id]
		if !seen || r.path != p {
			r = podRef{path: p}
			if ref, ok := kube.ParseCgroupPath(p); ok {
				r.uid = ref.PodUID
			}
			s.refs[id] = r
		}
		if r.uid == "" {
			continue
		}
		ok, known := selected[r.uid]
		if !known {
			meta, found := s.pods.PodByUID(r.uid)
			ok = found && s.sel.Matches(meta.Namespace, meta.Labels)
			selected[r.uid] = ok
			if ok {
				pods = append(pods, r.uid)
			}
		}
		if ok {
			want[id] = p
		}
	}
	if len(s.refs) > len(paths) { // cgroups removed since: forget them
		for id := range s.refs {
			if _, ok := paths[id]; !ok {
				delete(s.refs, id)
			}
		}
	}
	s.note(synced, pods, len(want))
	return want
}

// note records the counts of a want and logs what changed: a cache not
// synced yet (once), the first want after it synced, and a change in the
// number of pods selected. The first want is logged by startCgroupIDMap.
func (s *podSelection) note(synced bool, pods []string, cgroups int) {
	first, wasSynced, was := !s.filled, s.synced, s.selected
	s.filled, s.synced, s.selected, s.cgroups = true, synced, make(map[string]bool, len(pods)), cgroups
	added := 0
	for _, uid := range pods {
		s.selected[uid] = true
		if !was[uid] {
			added++
		}
	}
	removed := len(was) - (len(pods) - added)
	switch {
	case !synced:
		if !s.warned {
			s.warned = true
			s.log.Warn("cgroup_id_map: the pod cache has not synced yet: the map may miss selected pods until it does",
				"selector", s.sel.String())
		}
	case !first && !wasSynced:
		s.log.Info("cgroup_id_map: the pod cache has synced", s.logAttrs()...)
	case !first && (added > 0 || removed > 0):
		s.log.Info("cgroup_id_map: pods selected changed", append(s.logAttrs(), "added", added, "removed", removed)...)
	}
}

// logAttrs describes the selection and its last counts for a log line.
func (s *podSelection) logAttrs() []any {
	return []any{"selector", s.sel.String(), "pods_selected", len(s.selected), "cgroups_selected", s.cgroups}
}

// moved reports whether the pod cache changed (or synced) since the last
// want.
func (s *podSelection) moved() bool {
	return s.pods.Changes() != s.seen || !s.synced && s.pods.Synced()
}
