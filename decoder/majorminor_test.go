package decoder

import (
	"path/filepath"
	"testing"
)

// mkdev builds a device number the way ebpf_exporter's examples do.
func mkdev(major, minor uint32) []byte {
	return u32(minor&0xff | major<<8 | (minor&^0xff)<<12)
}

func TestMajorMinor(t *testing.T) {
	sys := t.TempDir()
	writeFile(t, filepath.Join(sys, "dev", "block", "8:0", "uevent"), "MAJOR=8\nMINOR=0\nDEVNAME=sda\nDEVTYPE=disk\n")
	writeFile(t, filepath.Join(sys, "dev", "block", "253:0", "uevent"), "MAJOR=253\nMINOR=0\nDEVTYPE=disk\n")
	writeFile(t, filepath.Join(sys, "dev", "block", "254:300", "uevent"), "DEVNAME=vdz300\n")
	env := testEnv(t, WithSysRoot(sys))
	runCases(t, env, one("majorminor"), []decodeCase{
		{name: "from sysfs uevent", in: mkdev(8, 0), want: "sda"},
		{name: "from /proc/partitions", in: mkdev(8, 1), want: "sda1"},
		{name: "major above 255", in: mkdev(259, 1), want: "nvme0n1p1"},
		{name: "minor above 255", in: mkdev(254, 300), want: "vdz300"},
		{name: "ebpf_exporter test value 0x8810", in: u32(0x8810), want: "sdzz"},
		{name: "uevent without DEVNAME falls back, then unknown", in: mkdev(253, 0), want: "unknown:253:0"},
		{name: "unknown", in: mkdev(1, 3), want: "unknown:1:3"},
		{name: "zero", in: u32(0), want: "unknown:0:0"},
		{name: "8 bytes", in: u64(0x800), wantErr: "majorminor: want 4 bytes, got 8"},
		{name: "empty", in: nil, wantErr: "got 0"},
	})
}

func TestMajorMinorNoSources(t *testing.T) {
	empty := t.TempDir()
	runCases(t, testEnv(t, WithSysRoot(empty), WithProcRoot(empty)), one("majorminor"), []decodeCase{
		{name: "no sysfs and no partitions", in: mkdev(8, 0), want: "unknown:8:0"},
	})
}
