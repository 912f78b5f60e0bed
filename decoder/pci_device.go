package decoder

import (
	"fmt"

	"github.com/ebpfmon/ebpfmon/config"
)

// pciDeviceDecoder (YAML "pci_device") takes (vendor << 16 | device) as
// decimal text, the output of uint, and outputs the device name from
// pci.ids: "2156269568" (0x80861000) -> "82542 Gigabit Ethernet Controller
// (Fiber)". An unknown pair gives "unknown pci device: 0xVVVVDDDD"; no
// pci.ids gives "missing pci.ids db", as in ebpf_exporter.
type pciDeviceDecoder struct{ db *pciDB }

func newPCIDevice(_ config.Decoder, env *Env) (Decoder, error) {
	db, err := env.pci()
	if err != nil {
		return nil, err
	}
	return pciDeviceDecoder{db: db}, nil
}

func (d pciDeviceDecoder) Decode(in []byte) ([]byte, error) {
	return pciLookup(d.db, in, func(db *pciDB, id uint64) []byte {
		if name, ok := db.devices[uint32(id)]; ok && id <= 0xffffffff {
			return []byte(name)
		}
		return fmt.Appendf(nil, "unknown pci device: 0x%08x", id)
	})
}
