// Package bpfmap reads whole BPF maps into flat, reusable buffers: raw key
// bytes and u64 values, one per CPU for per-CPU maps. It knows nothing about
// labels or metrics; package series decodes what it returns.
//
// Reads use BPF_MAP_LOOKUP_BATCH (Linux 5.6+) straight into the buffers, so a
// scrape of a 100k-entry map costs a handful of syscalls and no allocations
// once the buffers have grown. Kernels or map types without batch operations
// fall back to iterating with cilium/ebpf. ParseCPUList and OnlineCPUs read
// which CPUs are online: per-CPU maps hold a value for every possible one.
package bpfmap
