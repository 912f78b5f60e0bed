package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedUpToDate regenerates each committed table from the pinned
// x/sys and fails if it differs.
func TestGeneratedUpToDate(t *testing.T) {
	dir, version, err := xsys()
	if err != nil {
		t.Fatal(err)
	}
	for arch := range tableVars {
		t.Run(arch, func(t *testing.T) {
			got, err := generate(arch, dir, version)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("..", "..", "syscalls_"+arch+"_gen.go"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("syscalls_%s_gen.go is stale: run go generate ./decoder", arch)
			}
		})
	}
}

func TestParse(t *testing.T) {
	nums, err := parse(strings.NewReader("const (\n\tSYS_READ = 0\n\tSYS__LLSEEK   = 140\n\tSYS_URETPROBE = 335\n\tFOO = 3\n)\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{0: "read", 140: "_llseek", 335: "uretprobe"}
	if len(nums) != len(want) {
		t.Fatalf("got %v, want %v", nums, want)
	}
	for n, name := range want {
		if nums[n] != name {
			t.Errorf("%d = %q, want %q", n, nums[n], name)
		}
	}
	for _, bad := range []string{"", "SYS_A = 1\nSYS_B = 1\n"} {
		if _, err := parse(strings.NewReader(bad)); err == nil {
			t.Errorf("parse(%q) succeeded", bad)
		}
	}
}
