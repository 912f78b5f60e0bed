package series

import (
	"encoding/hex"
)

// DebugMap is one map as /maps (--debug) shows it.
type DebugMap struct {
	Config  string       `json:"config"`
	Map     string       `json:"map"`
	Error   string       `json:"error,omitempty"`
	Entries []DebugEntry `json:"entries"`
}

// DebugEntry is one raw map entry with its decoding.
type DebugEntry struct {
	Key    string            `json:"key"` // hex
	Labels map[string]string `json:"labels,omitempty"`
	Error  string            `json:"error,omitempty"` // why the labels did not decode
	Values []uint64          `json:"values"`          // one per CPU for per-CPU maps
}

// Debug reads the map and decodes every key afresh, bypassing the cache,
// for config's /maps entry.
func (m *MapMetric) Debug(config string) DebugMap {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := DebugMap{Config: config, Map: m.name, Entries: []DebugEntry{}}
	if m.closed {
		d.Error = errClosed.Error()
		return d
	}
	if err := m.reader.Read(m.entries); err != nil {
		d.Error = err.Error()
		return d
	}
	for i := range m.entries.Len() {
		key := m.entries.Key(i)
		entry := DebugEntry{Key: hex.EncodeToString(key), Values: append([]uint64(nil), m.entries.Values(i)...)}
		values, err := decodeLabels(m.labels, key, nil)
		if err != nil {
			entry.Error = err.Error()
		} else {
			entry.Labels = map[string]string{}
			for j, v := range values {
				entry.Labels[m.keyNames[j]] = v
			}
		}
		d.Entries = append(d.Entries, entry)
	}
	return d
}
