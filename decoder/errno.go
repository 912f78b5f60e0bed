package decoder

import (
	"fmt"
	"syscall"

	"github.com/ebpfmon/ebpfmon/config"
	"golang.org/x/sys/unix"
)

// errnoDecoder (YAML "errno") takes a positive errno as decimal text, the
// output of uint, and outputs its name: "2" -> "ENOENT". Numbers with no
// name give "unknown:N", as in ebpf_exporter.
type errnoDecoder struct{}

func newErrno(config.Decoder, *Env) (Decoder, error) { return errnoDecoder{}, nil }

func (errnoDecoder) Decode(in []byte) ([]byte, error) {
	n, err := parseText(in)
	if err != nil {
		return nil, err
	}
	if name := errnoName(n); name != "" {
		return []byte(name), nil
	}
	return fmt.Appendf(nil, "unknown:%d", n), nil
}

func errnoName(n uint64) string {
	if uint64(uintptr(n)) != n || n == 0 {
		return ""
	}
	return unix.ErrnoName(syscall.Errno(n))
}
