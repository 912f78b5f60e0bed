package usdt

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
)

// noteType is NT_STAPSDT, the type of SDT v3 notes (sys/sdt.h); the
// ancient v1 and v2 notes carry no argument sizes and are skipped.
const noteType = 3

const (
	noteOwner   = "stapsdt"
	noteSection = ".note.stapsdt"
	baseSection = ".stapsdt.base"
)

// Probe is one USDT probe site: one .note.stapsdt note. A probe that a
// program fires from several places (or that the compiler inlined) has one
// Probe per site, all with the same Provider and Name.
type Probe struct {
	Provider, Name string
	// Address is the virtual address of the probe's nop, and Semaphore
	// that of its semaphore (0: none), both adjusted when the file was
	// prelinked after the notes were written.
	Address, Semaphore uint64
	// Base is the address of .stapsdt.base the note recorded.
	Base uint64
	// Args is the argument string, e.g. "-4@%edi 8@-16(%rbp)".
	Args string
	// Offset and SemaphoreOffset are Address and Semaphore as offsets in
	// the file, what uprobes take (set by Read, not by ParseNotes).
	Offset, SemaphoreOffset uint64
}

// String is PROVIDER:NAME.
func (p Probe) String() string { return p.Provider + ":" + p.Name }

// ErrNoProbes is returned by Read for an ELF file without USDT notes.
var ErrNoProbes = errors.New("no USDT probes (no .note.stapsdt section)")

// Read returns f's USDT probes, in note order, with their file offsets.
func Read(f *elf.File) ([]Probe, error) {
	sec := f.Section(noteSection)
	if sec == nil || sec.Type != elf.SHT_NOTE {
		return nil, ErrNoProbes
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", noteSection, err)
	}
	addrSize := 8
	if f.Class == elf.ELFCLASS32 {
		addrSize = 4
	}
	probes, err := ParseNotes(data, f.ByteOrder, addrSize)
	if err != nil {
		return nil, err
	}
	base := f.Section(baseSection)
	for i := range probes {
		p := &probes[i]
		// Prelink moves sections but not the addresses inside notes: the
		// distance between where .stapsdt.base is and where the note says
		// it was is how far everything moved.
		if base != nil && p.Base != 0 {
			p.Address += base.Addr - p.Base
			if p.Semaphore != 0 {
				p.Semaphore += base.Addr - p.Base
			}
		}
		if p.Offset, err = fileOffset(f, p.Address, true); err != nil {
			return nil, fmt.Errorf("probe %s at %#x: %w", p, p.Address, err)
		}
		if p.Semaphore != 0 {
			if p.SemaphoreOffset, err = fileOffset(f, p.Semaphore, false); err != nil {
				return nil, fmt.Errorf("probe %s: semaphore at %#x: %w", p, p.Semaphore, err)
			}
		}
	}
	return probes, nil
}

// fileOffset turns a virtual address into an offset in the file, through
// the loadable segment that maps it (an executable one when exec is set).
func fileOffset(f *elf.File, addr uint64, exec bool) (uint64, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || (exec && p.Flags&elf.PF_X == 0) {
			continue
		}
		if p.Vaddr <= addr && addr-p.Vaddr < p.Memsz {
			return addr - p.Vaddr + p.Off, nil
		}
	}
	kind := "loadable"
	if exec {
		kind = "executable"
	}
	return 0, fmt.Errorf("address is in no %s segment", kind)
}

// ParseNotes decodes the contents of a .note.stapsdt section: a sequence of
// ELF notes (namesz, descsz, type, name, desc; 4-byte aligned) whose desc
// is the probe address, the .stapsdt.base address and the semaphore
// address (addrSize bytes each), then provider, name and argument string,
// each NUL-terminated. Notes of other owners or types are skipped.
func ParseNotes(data []byte, order binary.ByteOrder, addrSize int) ([]Probe, error) {
	if addrSize != 4 && addrSize != 8 {
		return nil, fmt.Errorf("address size %d, want 4 or 8", addrSize)
	}
	var probes []Probe
	for off := 0; off < len(data); {
		if len(data)-off < 12 {
			return nil, fmt.Errorf("note at %#x: truncated header", off)
		}
		namesz := uint64(order.Uint32(data[off:]))
		descsz := uint64(order.Uint32(data[off+4:]))
		typ := order.Uint32(data[off+8:])
		nameStart := uint64(off) + 12
		descStart := nameStart + align4(namesz)
		next := descStart + align4(descsz)
		if next > uint64(len(data)) {
			return nil, fmt.Errorf("note at %#x: name (%d bytes) and desc (%d bytes) run past the section end", off, namesz, descsz)
		}
		name := string(bytes.TrimRight(data[nameStart:nameStart+namesz], "\x00"))
		if name == noteOwner && typ == noteType {
			p, err := parseDesc(data[descStart:descStart+descsz], order, addrSize)
			if err != nil {
				return nil, fmt.Errorf("note at %#x: %w", off, err)
			}
			probes = append(probes, p)
		}
		off = int(next)
	}
	return probes, nil
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

func parseDesc(desc []byte, order binary.ByteOrder, addrSize int) (Probe, error) {
	if len(desc) < 3*addrSize {
		return Probe{}, fmt.Errorf("desc is %d bytes, too short for 3 addresses", len(desc))
	}
	addr := func(i int) uint64 {
		if addrSize == 4 {
			return uint64(order.Uint32(desc[i*4:]))
		}
		return order.Uint64(desc[i*8:])
	}
	p := Probe{Address: addr(0), Base: addr(1), Semaphore: addr(2)}
	rest := desc[3*addrSize:]
	var strs [3]string
	for i := range strs {
		end := bytes.IndexByte(rest, 0)
		if end < 0 {
			return Probe{}, fmt.Errorf("desc: %s is not NUL-terminated", [...]string{"provider", "name", "argument string"}[i])
		}
		strs[i], rest = string(rest[:end]), rest[end+1:]
	}
	p.Provider, p.Name, p.Args = strs[0], strs[1], strs[2]
	if p.Provider == "" || p.Name == "" {
		return Probe{}, fmt.Errorf("desc: empty provider or name")
	}
	return p, nil
}
