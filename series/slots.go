package series

import (
	dto "github.com/prometheus/client_model/go"
)

// slot is one exported series (per CPU when values are split by CPU). Keys
// whose labels decode alike share a slot, which is how equal label sets are
// added up. Slots are resolved when a key is first decoded, so a scrape only
// looks up the key cache.
//
// A series must never go down while it exists, yet keys sharing it may
// leave the map (LRU eviction, deletion) or start over (deleted and
// inserted again between scrapes). What such a key had counted moves to
// carry, which is exported on top of live. carry lives as long as the slot:
// once its last key has left the series is gone, and if it comes back it
// starts from its keys' values again, a genuine counter reset. Memory stays
// bounded by the series exported.
type slot struct {
	id    string
	pairs [][]*dto.LabelPair // per CPU when split, else one
	refs  int                // cached keys pointing here
	seen  uint32             // the scrape generation that last filled it
	live  counts             // the values of the keys in the map now
	carry *counts            // what keys that left or restarted had counted; nil until one did
}

// counts are one slot's values: per CPU when split, else one.
type counts struct {
	sums  []uint64    // counters
	hists []histogram // histograms
}

// slots owns the series of one metric.
type slots struct {
	all  []*slot
	ids  map[string]int
	free []int
}

// acquire returns the slot of id, creating it with pairs (a function, as it
// is only needed for new slots) and taking a reference.
func (s *slots) acquire(id string, pairs func() [][]*dto.LabelPair) int {
	if i, ok := s.ids[id]; ok {
		s.all[i].refs++
		return i
	}
	sl := &slot{id: id, pairs: pairs(), refs: 1}
	var i int
	if n := len(s.free); n > 0 {
		i, s.free = s.free[n-1], s.free[:n-1]
		s.all[i] = sl
	} else {
		i = len(s.all)
		s.all = append(s.all, sl)
	}
	s.ids[id] = i
	return i
}

// release drops a reference; the slot is freed with its last key.
func (s *slots) release(i int) {
	sl := s.all[i]
	if sl.refs--; sl.refs > 0 {
		return
	}
	delete(s.ids, sl.id)
	s.all[i] = nil
	s.free = append(s.free, i)
}

// cpuPairs builds one label set per CPU, each with its "cpu" label value.
func cpuPairs(names, values, cpuValues []string) [][]*dto.LabelPair {
	names = append(append([]string(nil), names...), "cpu")
	out := make([][]*dto.LabelPair, len(cpuValues))
	for c, cpu := range cpuValues {
		out[c] = labelPairs(names, append(append([]string(nil), values...), cpu))
	}
	return out
}
