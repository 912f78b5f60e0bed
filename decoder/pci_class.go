package decoder

import (
	"fmt"

	"github.com/ebpfmon/ebpfmon/config"
)

// pciClassDecoder (YAML "pci_class") takes a PCI base class as decimal text,
// the output of uint, and outputs its name from pci.ids: "2" -> "Network
// controller". An unknown class gives "unknown pci class: 0xCC"; no pci.ids
// gives "missing pci.ids db", as in ebpf_exporter.
type pciClassDecoder struct{ db *pciDB }

func newPCIClass(_ config.Decoder, env *Env) (Decoder, error) {
	db, err := env.pci()
	if err != nil {
		return nil, err
	}
	return pciClassDecoder{db: db}, nil
}

func (d pciClassDecoder) Decode(in []byte) ([]byte, error) {
	return pciLookup(d.db, in, func(db *pciDB, id uint64) []byte {
		if name, ok := db.classes[uint8(id)]; ok && id <= 0xff {
			return []byte(name)
		}
		return fmt.Appendf(nil, "unknown pci class: 0x%02x", id)
	})
}
