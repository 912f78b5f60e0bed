package series

import (
	"time"

	dto "github.com/prometheus/client_model/go"
)

// slot is one label set of a metric, exported as one series (per CPU when
// values are split by CPU) or, when folded, as part of the metric's
// overflow series. Keys whose labels decode alike share a slot, which is
// how equal label sets are added up. Slots are resolved when a key is
// first decoded, so a scrape only looks up the key cache.
//
// A series must never go down while it exists, yet keys sharing it may
// leave the map (LRU eviction, deletion) or start over (deleted and
// inserted again between scrapes). What such a key had counted moves to
// carry, which is exported on top of live. carry lives as long as the slot:
// once its last key has left the series is gone, and if it comes back it
// starts from its keys' values again, a genuine counter reset. Memory stays
// bounded by the series exported.
type slot struct {
	id     string
	pairs  [][]*dto.LabelPair // per CPU when split, else one; nil when folded
	refs   int                // cached keys pointing here
	seen   uint32             // the scrape generation that last filled it
	folded bool               // beyond the cap: exported in the overflow series
	live   counts             // the values of the keys in the map now
	carry  *counts            // what keys that left or restarted had counted; nil until one did
}

// counts are one slot's values: per CPU when split, else one.
type counts struct {
	sums  []uint64    // counters
	hists []histogram // histograms
}

// slots owns the label sets of one metric. At most max of them are
// admitted, each exported as its own series; a label set first seen while
// max are admitted is folded, and stays folded while its keys stay in the
// map, so which series exist does not flap between scrapes.
//
// A place freed by an admitted label set whose keys all left is held for
// placeHold before a new label set may take it: else keys that never
// repeat (an LRU map of pids, addresses, random ids) would take each freed
// place in turn, and Prometheus would get max new series at every scrape
// or two. So at most max label sets of a metric have a series within any
// placeHold, as an event counter keeps at most max label sets per flush.
type slots struct {
	all      []*slot
	ids      map[string]int
	free     []int
	max      int         // most admitted label sets; 0: no bound
	admitted int         // slots not folded
	folded   int         // folded slots
	foldings uint64      // label sets folded so far: a slot made folded counts once
	held     []time.Time // when held places were freed, oldest first; at most max
}

// placeHold is how long a place freed by an admitted label set counts
// against max: an hour, the default flush_interval of event counters.
const placeHold = time.Hour

// acquire returns the slot of id, creating it with pairs (a function, as it
// is only needed for new admitted slots) and taking a reference. A new
// label set is folded when max places are taken (admitted, or freed less
// than placeHold before now), or when fold says so (its label values are
// those of the overflow series).
func (s *slots) acquire(id string, fold bool, now time.Time, pairs func() [][]*dto.LabelPair) int {
	if i, ok := s.ids[id]; ok {
		s.all[i].refs++
		return i
	}
	sl := &slot{id: id, refs: 1, folded: fold || s.full(now)}
	if sl.folded {
		s.folded++
		s.foldings++
	} else {
		sl.pairs = pairs()
		s.admitted++
	}
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

// full says whether max places are taken at now: admitted, or held.
func (s *slots) full(now time.Time) bool {
	if s.max == 0 {
		return false
	}
	n := 0
	for n < len(s.held) && now.Sub(s.held[n]) >= placeHold {
		n++
	}
	s.held = s.held[n:]
	return s.admitted+len(s.held) >= s.max
}

// release drops a reference; the slot is freed with its last key, at
// now, and the place of an admitted one is held.
func (s *slots) release(i int, now time.Time) {
	sl := s.all[i]
	if sl.refs--; sl.refs > 0 {
		return
	}
	if sl.folded {
		s.folded--
	} else {
		s.admitted--
		if s.max > 0 {
			s.held = append(s.held, now)
		}
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
