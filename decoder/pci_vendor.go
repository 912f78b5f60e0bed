package decoder

import (
	"fmt"

	"github.com/ebpfmon/ebpfmon/config"
)

// pciVendorDecoder (YAML "pci_vendor") takes a PCI vendor id as decimal
// text, the output of uint, and outputs the vendor name from pci.ids:
// "32902" (0x8086) -> "Intel Corporation". An unknown id gives "unknown pci
// vendor: 0xVVVV"; no pci.ids on the host gives "missing pci.ids db", as in
// ebpf_exporter.
type pciVendorDecoder struct{ db *pciDB }

func newPCIVendor(_ config.Decoder, env *Env) (Decoder, error) {
	db, err := env.pci()
	if err != nil {
		return nil, err
	}
	return pciVendorDecoder{db: db}, nil
}

func (d pciVendorDecoder) Decode(in []byte) ([]byte, error) {
	return pciLookup(d.db, in, func(db *pciDB, id uint64) []byte {
		if name, ok := db.vendors[uint16(id)]; ok && id <= 0xffff {
			return []byte(name)
		}
		return fmt.Appendf(nil, "unknown pci vendor: 0x%04x", id)
	})
}

// pciLookup parses decimal text and hands the id to name, or reports a
// missing database (db is nil).
func pciLookup(db *pciDB, in []byte, name func(db *pciDB, id uint64) []byte) ([]byte, error) {
	id, err := parseText(in)
	if err != nil {
		return nil, err
	}
	if db == nil {
		return []byte(missingPCIIDs), nil
	}
	return name(db, id), nil
}
