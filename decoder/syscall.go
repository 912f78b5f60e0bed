package decoder

import (
	"fmt"

	"github.com/ebpfmon/ebpfmon/config"
)

//go:generate go run ./internal/gensyscalls -arch amd64 -o syscalls_amd64_gen.go
//go:generate go run ./internal/gensyscalls -arch arm64 -o syscalls_arm64_gen.go

// syscallDecoder (YAML "syscall") takes a syscall number as decimal text,
// the output of uint, and outputs its name for the Env's architecture
// (runtime.GOARCH unless set with [WithSyscallArch]): "0" -> "read" on
// amd64, "63" -> "read" on arm64. Numbers with no name give
// "unknown_syscall:N", as in ebpf_exporter.
type syscallDecoder struct {
	names []string
}

// syscallTables holds the generated tables by GOARCH.
func syscallTables() map[string][]string {
	return map[string][]string{
		"amd64": syscallsAMD64[:],
		"arm64": syscallsARM64[:],
	}
}

func newSyscall(_ config.Decoder, env *Env) (Decoder, error) {
	names, ok := syscallTables()[env.syscallArch]
	if !ok {
		return nil, fmt.Errorf("no syscall table for GOARCH %q, have amd64 and arm64", env.syscallArch)
	}
	return syscallDecoder{names: names}, nil
}

func (d syscallDecoder) Decode(in []byte) ([]byte, error) {
	n, err := parseText(in)
	if err != nil {
		return nil, err
	}
	if n < uint64(len(d.names)) && d.names[n] != "" {
		return []byte(d.names[n]), nil
	}
	return fmt.Appendf(nil, "unknown_syscall:%d", n), nil
}
