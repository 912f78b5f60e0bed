// Package regfile reads the files ebpfmon is given (NAME.yaml, NAME.bpf.o,
// --btf.path) safely: only regular files, after following symlinks, and at
// most a given size. A FIFO, socket, device or directory in their place is a
// clear error instead of a read that blocks forever or never ends.
package regfile
