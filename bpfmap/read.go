package bpfmap

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// batchSize is how many entries one BPF_MAP_LOOKUP_BATCH call asks for.
const batchSize = 4096

// Reader reads one map. It is safe for concurrent use with separate Entries.
type Reader struct {
	m       *ebpf.Map
	noBatch atomic.Bool
}

// NewReader returns a reader for m, whose values must be u64 (8 bytes).
func NewReader(m *ebpf.Map) (*Reader, error) {
	if m.ValueSize() != 8 {
		return nil, fmt.Errorf("value size %d, want 8 (u64)", m.ValueSize())
	}
	return &Reader{m: m}, nil
}

// CPUs is the number of values per key Read returns.
func (r *Reader) CPUs() int {
	if !PerCPU(r.m.Type()) {
		return 1
	}
	n, err := ebpf.PossibleCPU()
	if err != nil {
		return 1
	}
	return n
}

// NewEntries returns entries sized for this reader's map.
func (r *Reader) NewEntries() *Entries {
	return NewEntries(int(r.m.KeySize()), r.CPUs())
}

// Read replaces the contents of e with every entry of the map.
func (r *Reader) Read(e *Entries) error {
	e.reset()
	if !r.noBatch.Load() {
		err := r.readBatch(e)
		if !errors.Is(err, errNoBatch) {
			return err
		}
		r.noBatch.Store(true)
		e.reset()
	}
	return r.readIterate(e)
}

var errNoBatch = errors.New("batch lookups not supported")

// errnoENOTSUPP is the kernel-internal ENOTSUPP (524) that map types without
// batch operations return.
const errnoENOTSUPP = unix.Errno(524)

// batchAttr is the BPF_MAP_*_BATCH part of union bpf_attr.
type batchAttr struct {
	inBatch, outBatch, keys, values uint64
	count, mapFD                    uint32
	elemFlags, flags                uint64
}

func (r *Reader) readBatch(e *Entries) error {
	cursor := make([]byte, 2*max(e.KeySize, 4))
	in, out := unsafe.Pointer(nil), unsafe.Pointer(&cursor[0])
	for {
		e.grow(batchSize)
		attr := batchAttr{
			outBatch: uint64(uintptr(out)),
			keys:     uint64(uintptr(unsafe.Pointer(&e.keys[e.n*e.KeySize]))),
			values:   uint64(uintptr(unsafe.Pointer(&e.values[e.n*e.CPUs]))),
			count:    batchSize,
			mapFD:    uint32(r.m.FD()),
		}
		if in != nil {
			attr.inBatch = uint64(uintptr(in))
		}
		_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_MAP_LOOKUP_BATCH, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
		runtime.KeepAlive(cursor)
		e.n += int(attr.count)
		switch errno {
		case 0:
		case unix.ENOENT:
			return nil
		case unix.EINVAL, errnoENOTSUPP, unix.EOPNOTSUPP, unix.ENOSYS:
			if in == nil {
				return errNoBatch
			}
			return fmt.Errorf("batch lookup: %w", errno)
		default:
			return fmt.Errorf("batch lookup: %w", errno)
		}
		// The kernel wrote the next cursor to out; feed it back as in.
		half := len(cursor) / 2
		if in == nil {
			in, out = out, unsafe.Pointer(&cursor[half])
		} else {
			in, out = out, in
		}
	}
}

func (r *Reader) readIterate(e *Entries) error {
	key := make([]byte, e.KeySize)
	values := make([]uint64, e.CPUs)
	var value any = values
	if e.CPUs == 1 && !PerCPU(r.m.Type()) {
		value = &values[0]
	}
	it := r.m.Iterate()
	for it.Next(key, value) {
		e.Add(key, values)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("iterate: %w", err)
	}
	return nil
}

// PerCPU reports whether maps of type t hold one value per CPU.
func PerCPU(t ebpf.MapType) bool {
	switch t {
	case ebpf.PerCPUHash, ebpf.PerCPUArray, ebpf.LRUCPUHash:
		return true
	}
	return false
}
