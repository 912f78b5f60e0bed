package decoder

import (
	"runtime"
	"testing"

	"github.com/ebpfmon/ebpfmon/config"
)

func TestSyscall(t *testing.T) {
	common := []decodeCase{
		{name: "unknown", in: []byte("100000"), want: "unknown_syscall:100000"},
		{name: "huge", in: []byte("18446744073709551615"), want: "unknown_syscall:18446744073709551615"},
		{name: "not a number", in: []byte("read"), wantErr: `syscall: want a decimal number, got "read"`},
		{name: "empty", in: nil, wantErr: "want a decimal number"},
	}
	t.Run("amd64", func(t *testing.T) {
		runCases(t, testEnv(t, WithSyscallArch("amd64")), one("syscall"), append([]decodeCase{
			{name: "read", in: []byte("0"), want: "read"},
			{name: "execve", in: []byte("59"), want: "execve"},
			{name: "openat", in: []byte("257"), want: "openat"},
			{name: "hole between 334 and 424", in: []byte("400"), want: "unknown_syscall:400"},
			{name: "clone3", in: []byte("435"), want: "clone3"},
		}, common...))
	})
	t.Run("arm64", func(t *testing.T) {
		runCases(t, testEnv(t, WithSyscallArch("arm64")), one("syscall"), append([]decodeCase{
			{name: "io_setup", in: []byte("0"), want: "io_setup"},
			{name: "read", in: []byte("63"), want: "read"},
			{name: "execve", in: []byte("221"), want: "execve"},
			{name: "fcntl via __NR3264", in: []byte("25"), want: "fcntl"},
			{name: "newfstatat wanted by arm64", in: []byte("79"), want: "newfstatat"},
			{name: "renameat wanted by arm64", in: []byte("38"), want: "renameat"},
			{name: "32-bit only time64 calls absent", in: []byte("403"), want: "unknown_syscall:403"},
			{name: "clone3", in: []byte("435"), want: "clone3"},
		}, common...))
	})
	t.Run("runtime arch by default", func(t *testing.T) {
		if _, ok := syscallTables()[runtime.GOARCH]; !ok {
			t.Skipf("skipping: no table for %s", runtime.GOARCH)
		}
		if _, err := New(config.Decoder{Name: "syscall"}, NewEnv()); err != nil {
			t.Fatal(err)
		}
	})
}
