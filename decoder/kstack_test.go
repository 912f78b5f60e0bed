package decoder

import "testing"

func TestKstack(t *testing.T) {
	runCases(t, testEnv(t), one("kstack"), []decodeCase{
		{name: "frames until zero", in: u64s(0xffffffff81001010, 0xffffffff81000123, 0, 0xffffffff81001400), want: "vfs_read\nstart_kernel"},
		{name: "full array without zero", in: u64s(0xffffffff81001400, 0xffffffff81000810), want: "vfs_write\nschedule"},
		{name: "unknown frame", in: u64s(0xffffffff81000810, 0x10, 0), want: "schedule\n??"},
		{name: "single frame", in: u64s(0xffffffffc0002001), want: "ext4_fake_module_fn"},
		{name: "bpf program", in: u64s(0xffffffffc0010010, 0xffffffff81001010), want: "bpf_prog_0123456789abcdef_handler\nvfs_read"},
		// Issue 7 item 4: JIT code of a program loaded after the table was
		// read, 8 MiB past the last symbol, was named after that symbol.
		{name: "past the last symbol of a region", in: u64s(0xffffffffc0810010, 0xffffffff81001010), want: "??\nvfs_read"},
		{name: "past the last core text symbol", in: u64s(0xffffffff81001400 + 1<<20), want: "??"},
		{name: "empty stack", in: u64s(0, 0, 0), want: ""},
		{name: "empty field", in: nil, want: ""},
		{name: "not a multiple of 8", in: make([]byte, 12), wantErr: "kstack: want a multiple of 8 bytes, got 12"},
	})
}
