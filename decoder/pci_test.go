package decoder

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebpfmon/ebpfmon/config"
)

func TestPCIVendor(t *testing.T) {
	runCases(t, testEnv(t), withUint(config.Decoder{Name: "pci_vendor"}), []decodeCase{
		{name: "intel", in: u32(0x8086), want: "Intel Corporation"},
		{name: "leading zero id", in: u32(0x0e11), want: "Old Example Vendor"},
		{name: "unknown", in: u32(0x1234), want: "unknown pci vendor: 0x1234"},
		{name: "above 16 bits", in: u32(0x18086), want: "unknown pci vendor: 0x18086"},
	})
	runCases(t, testEnv(t), one("pci_vendor"), []decodeCase{
		{name: "text input", in: []byte("32902"), want: "Intel Corporation"},
		{name: "not a number", in: []byte("0x8086"), wantErr: `pci_vendor: want a decimal number, got "0x8086"`},
	})
}

func TestPCIDevice(t *testing.T) {
	runCases(t, testEnv(t), one("pci_device"), []decodeCase{
		{name: "ebpf_exporter input form", in: []byte("2156269568"), want: "82542 Gigabit Ethernet Controller (Fiber)"},
		{name: "nvidia", in: []byte("282994436"), want: "AD103 [GeForce RTX 4080]"},
		{name: "vendor with leading zero", in: []byte("235995137"), want: "Old Example Device"},
		{name: "unknown", in: []byte("3735928559"), want: "unknown pci device: 0xdeadbeef"},
		{name: "known vendor unknown device", in: []byte("2156265472"), want: "unknown pci device: 0x80860000"},
		{name: "empty", in: nil, wantErr: "want a decimal number"},
	})
}

func TestPCIClass(t *testing.T) {
	runCases(t, testEnv(t), one("pci_class"), []decodeCase{
		{name: "network", in: []byte("2"), want: "Network controller"},
		{name: "zero", in: []byte("0"), want: "Unclassified device"},
		{name: "ff", in: []byte("255"), want: "Unassigned class"},
		{name: "unknown", in: []byte("253"), want: "unknown pci class: 0xfd"},
		{name: "above 8 bits", in: []byte("258"), want: "unknown pci class: 0x102"},
	})
}

func TestPCISubclass(t *testing.T) {
	runCases(t, testEnv(t), one("pci_subclass"), []decodeCase{
		{name: "nvme", in: []byte("264"), want: "Non-Volatile memory controller"},
		{name: "ethernet", in: []byte("512"), want: "Ethernet controller"},
		{name: "class 0", in: []byte("0"), want: "Non-VGA unclassified device"},
		{name: "prog-if lines are not subclasses", in: []byte("257"), want: "unknown pci subclass: 0x01 (class 0x01)"},
		{name: "unknown class", in: []byte("64768"), want: "unknown pci class: 0xfd"},
		{name: "unknown subclass", in: []byte("267"), want: "unknown pci subclass: 0x0b (class 0x01)"},
		{name: "low 16 bits only", in: []byte("65800"), want: "Non-Volatile memory controller"},
	})
}

func TestPCIMissingDB(t *testing.T) {
	env := testEnv(t, WithPCIIDs(filepath.Join(t.TempDir(), "nope")))
	for _, name := range []string{"pci_vendor", "pci_device", "pci_class", "pci_subclass"} {
		t.Run(name, func(t *testing.T) {
			runCases(t, env, one(name), []decodeCase{
				{name: "missing", in: []byte("1"), want: "missing pci.ids db"},
				{name: "bad input still an error", in: []byte("x"), wantErr: "want a decimal number"},
			})
		})
	}
}

func TestPCIDBPaths(t *testing.T) {
	t.Run("first existing path wins", func(t *testing.T) {
		env := testEnv(t, WithPCIIDs(filepath.Join(t.TempDir(), "nope"), "testdata/pci.ids"))
		runCases(t, env, one("pci_class"), []decodeCase{{name: "found", in: []byte("2"), want: "Network controller"}})
	})
}

// TestPCIErrorsAtBuild checks that a pci.ids the decoders cannot read fails
// when they are built, naming the decoder, not at every scrape.
func TestPCIErrorsAtBuild(t *testing.T) {
	malformed := filepath.Join(t.TempDir(), "pci.ids")
	writeFile(t, malformed, "8086  Intel\n\tzzzz  Bad\n")
	tests := []struct {
		name, path, wantErr string
	}{
		{"unreadable", t.TempDir(), "pci.ids: "}, // a directory opens but does not read
		{"malformed", malformed, "pci.ids: " + malformed + ": line 2"},
	}
	for _, tt := range tests {
		for _, name := range []string{"pci_vendor", "pci_device", "pci_class", "pci_subclass"} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				d, err := New(config.Decoder{Name: name}, testEnv(t, WithPCIIDs(tt.path)))
				if err == nil || !strings.HasPrefix(err.Error(), `decoder "`+name+`": `) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("New(%s) = %v, %v; want an error naming the decoder and containing %q", name, d, err, tt.wantErr)
				}
			})
		}
	}
}

func TestParsePCIIDs(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"bad vendor id", "80z6  Bad\n", "line 1: bad id \"80z6\""},
		{"bad device id", "8086  Intel\n\t12345  Too long\n", "line 2"},
		{"missing name", "8086\n", "line 1"},
		{"bad class", "C 1ff  Too wide\n", "line 1"},
		{"ok with subsystems and comments", "# c\n8086  Intel\n\t1000  Dev\n\t\t8086 0001  Sub\n\nC 02  Net\n\t00  Eth\n\t\t00  IF\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := parsePCIIDs(strings.NewReader(tt.in))
			if tt.wantErr == "" {
				if err != nil || db.devices[0x80861000] != "Dev" || db.subclasses[0x0200] != "Eth" {
					t.Fatalf("parsePCIIDs = %+v, %v", db, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parsePCIIDs error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
