package bpfmap

// Entries is one read of a map: Len keys of KeySize bytes back to back, each
// with CPUs u64 values (CPUs is 1 for maps that are not per-CPU).
type Entries struct {
	KeySize int
	CPUs    int
	n       int
	keys    []byte
	values  []uint64
}

// NewEntries returns empty entries for keys of keySize bytes and cpus values each.
func NewEntries(keySize, cpus int) *Entries {
	return &Entries{KeySize: keySize, CPUs: cpus}
}

// Len is the number of entries read.
func (e *Entries) Len() int { return e.n }

// Key returns the raw bytes of key i. It aliases the buffer: copy to keep it.
func (e *Entries) Key(i int) []byte { return e.keys[i*e.KeySize : (i+1)*e.KeySize] }

// Values returns the per-CPU values of entry i (one value for other maps).
func (e *Entries) Values(i int) []uint64 { return e.values[i*e.CPUs : (i+1)*e.CPUs] }

// Add appends one entry, copying key and values; for tests and the iterator.
func (e *Entries) Add(key []byte, values []uint64) {
	e.grow(1)
	copy(e.keys[e.n*e.KeySize:], key)
	copy(e.values[e.n*e.CPUs:], values)
	e.n++
}

// reset empties the entries, keeping the buffers.
func (e *Entries) reset() { e.n = 0 }

// grow makes room for extra more entries after the current ones.
func (e *Entries) grow(extra int) {
	need := e.n + extra
	if need*e.KeySize <= len(e.keys) {
		return
	}
	size := max(need, 2*len(e.keys)/max(e.KeySize, 1))
	keys := make([]byte, size*e.KeySize)
	values := make([]uint64, size*e.CPUs)
	copy(keys, e.keys[:e.n*e.KeySize])
	copy(values, e.values[:e.n*e.CPUs])
	e.keys, e.values = keys, values
}
