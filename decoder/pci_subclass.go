package decoder

import (
	"fmt"

	"github.com/ebpfmon/ebpfmon/config"
)

// pciSubclassDecoder (YAML "pci_subclass") takes (class << 8 | subclass) as
// decimal text, the output of uint, and outputs the subclass name from
// pci.ids: "264" (0x0108) -> "Non-Volatile memory controller". An unknown
// class gives "unknown pci class: 0xCC", an unknown subclass of a known
// class "unknown pci subclass: 0xSS (class 0xCC)"; no pci.ids gives "missing
// pci.ids db", as in ebpf_exporter. Only the low 16 bits of the number are
// used, since BPF programs store the subclass as class_code >> 8 in a u16.
type pciSubclassDecoder struct{ db *pciDB }

func newPCISubclass(_ config.Decoder, env *Env) (Decoder, error) {
	db, err := env.pci()
	if err != nil {
		return nil, err
	}
	return pciSubclassDecoder{db: db}, nil
}

func (d pciSubclassDecoder) Decode(in []byte) ([]byte, error) {
	return pciLookup(d.db, in, func(db *pciDB, id uint64) []byte {
		class, sub := uint8(id>>8), uint8(id)
		if _, ok := db.classes[class]; !ok {
			return fmt.Appendf(nil, "unknown pci class: 0x%02x", class)
		}
		if name, ok := db.subclasses[uint16(id)]; ok {
			return []byte(name)
		}
		return fmt.Appendf(nil, "unknown pci subclass: 0x%02x (class 0x%02x)", sub, class)
	})
}
