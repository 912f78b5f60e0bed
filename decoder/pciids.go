package decoder

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// missingPCIIDs is the output of the pci decoders when no pci.ids exists.
const missingPCIIDs = "missing pci.ids db"

// pciDB is the part of a pci.ids database the pci decoders use.
type pciDB struct {
	vendors    map[uint16]string // vendor id
	devices    map[uint32]string // vendor<<16 | device id
	classes    map[uint8]string  // class id
	subclasses map[uint16]string // class<<8 | subclass id
}

// parsePCIIDs reads the pci.ids format: "VVVV  vendor" lines each followed
// by "\tDDDD  device" lines, then "C CC  class" lines each followed by
// "\tSS  subclass" lines. Deeper levels (subsystems, prog-ifs) are skipped.
func parsePCIIDs(r io.Reader) (*pciDB, error) {
	db := &pciDB{
		vendors:    map[uint16]string{},
		devices:    map[uint32]string{},
		classes:    map[uint8]string{},
		subclasses: map[uint16]string{},
	}
	var (
		vendor, class     uint64
		inVendor, inClass bool
	)
	sc := bufio.NewScanner(r)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := sc.Text()
		if line == "" || line[0] == '#' || strings.HasPrefix(line, "\t\t") {
			continue
		}
		var err error
		switch {
		case strings.HasPrefix(line, "C "):
			class, err = pciField(line[2:], 8, func(id uint64, name string) { db.classes[uint8(id)] = name })
			inVendor, inClass = false, err == nil
		case line[0] != '\t':
			vendor, err = pciField(line, 16, func(id uint64, name string) { db.vendors[uint16(id)] = name })
			inVendor, inClass = err == nil, false
		case inVendor:
			_, err = pciField(line[1:], 16, func(id uint64, name string) { db.devices[uint32(vendor<<16|id)] = name })
		case inClass:
			_, err = pciField(line[1:], 8, func(id uint64, name string) { db.subclasses[uint16(class<<8|id)] = name })
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return db, nil
}

// pciField parses "ID  name" with a hex ID of at most bits bits and passes
// both to set.
func pciField(s string, bits int, set func(id uint64, name string)) (uint64, error) {
	idText, name, ok := strings.Cut(s, " ")
	if !ok {
		return 0, fmt.Errorf("want \"ID  NAME\", got %q", s)
	}
	id, err := strconv.ParseUint(idText, 16, bits)
	if err != nil {
		return 0, fmt.Errorf("bad id %q", idText)
	}
	set(id, strings.TrimSpace(name))
	return id, nil
}
