package kallsyms

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
)

// DefaultPath is where the kernel publishes its symbol table.
const DefaultPath = "/proc/kallsyms"

// ErrAddressesHidden is returned when every address in the table is zero,
// which is what the kernel shows to readers it does not trust.
var ErrAddressesHidden = errors.New("kallsyms: addresses are hidden (need CAP_SYSLOG, kernel.kptr_restrict)")

// ErrNotFound is returned when no symbol matches an address or a name.
var ErrNotFound = errors.New("kallsyms: symbol not found")

// Symbol is the result of an address lookup.
type Symbol struct {
	// Name is the symbol name, without the module suffix.
	Name string
	// Addr is the start address of the symbol.
	Addr uint64
	// Offset is how far the looked-up address is past Addr.
	Offset uint64
}

// Table is a kernel symbol table. Create one with [New] (lazy, from a file)
// or [Parse] (eager, from a reader). It is safe for concurrent use.
type Table struct {
	path string
	load func() (*symbols, error)
}

// symbols is the parsed, immutable content of a kallsyms file.
type symbols struct {
	entries []entry // sorted by address, file order among equal addresses
	names   string  // all names, concatenated
}

// entry is one symbol: its address and the bounds of its name in names.
type entry struct {
	addr       uint64
	start, end uint32
}

// New returns a Table that reads path (usually [DefaultPath]) on its first
// lookup, once. A reading or parsing error is returned by every lookup.
func New(path string) *Table {
	t := &Table{path: path}
	t.load = sync.OnceValues(t.read)
	return t
}

// Parse reads a whole kallsyms-format stream, one "ADDR TYPE NAME" line per
// symbol, optionally followed by a tab and "[module]", which is dropped.
func Parse(r io.Reader) (*Table, error) {
	syms, err := parse(r)
	if err != nil {
		return nil, err
	}
	return &Table{load: func() (*symbols, error) { return syms, nil }}, nil
}

// Path returns the file a Table made by [New] reads.
func (t *Table) Path() string { return t.path }

// Len returns the number of symbols, loading the table if needed.
func (t *Table) Len() (int, error) {
	syms, err := t.load()
	if err != nil {
		return 0, err
	}
	return len(syms.entries), nil
}

// Lookup returns the symbol that contains addr: the one with the highest
// start address not above addr (the first in file order when several share
// it). It returns an error wrapping [ErrNotFound] when addr is below every
// symbol.
func (t *Table) Lookup(addr uint64) (Symbol, error) {
	syms, err := t.load()
	if err != nil {
		return Symbol{}, err
	}
	e := syms.entries
	// i is the number of symbols starting at or below addr.
	i := sort.Search(len(e), func(i int) bool { return e[i].addr > addr })
	if i == 0 {
		return Symbol{}, fmt.Errorf("address 0x%x: %w", addr, ErrNotFound)
	}
	i--
	for i > 0 && e[i-1].addr == e[i].addr {
		i--
	}
	return Symbol{Name: syms.name(e[i]), Addr: e[i].addr, Offset: addr - e[i].addr}, nil
}

// Address returns the lowest address of a symbol called name. It scans the
// whole table: it is meant for start-up, not for every scrape.
func (t *Table) Address(name string) (uint64, error) {
	syms, err := t.load()
	if err != nil {
		return 0, err
	}
	for _, e := range syms.entries { // sorted, so the first match is the lowest
		if syms.name(e) == name {
			return e.addr, nil
		}
	}
	return 0, fmt.Errorf("%q: %w", name, ErrNotFound)
}

func (s *symbols) name(e entry) string { return s.names[e.start:e.end] }

// read opens and parses the table's file.
func (t *Table) read() (*symbols, error) {
	f, err := os.Open(t.path)
	if err != nil {
		return nil, fmt.Errorf("kallsyms: %w", err)
	}
	defer f.Close()
	syms, err := parse(f)
	if err != nil {
		return nil, fmt.Errorf("%w (reading %s)", err, t.path)
	}
	return syms, nil
}

func parse(r io.Reader) (*symbols, error) {
	var (
		entries []entry
		names   strings.Builder
		nonZero bool
	)
	br := bufio.NewReaderSize(r, 64<<10)
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadSlice('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("kallsyms: line %d: %w", lineNo, err)
		}
		addr, name, perr := parseLine(line)
		if perr != nil {
			return nil, fmt.Errorf("kallsyms: line %d: %w", lineNo, perr)
		}
		if name != nil {
			if uint64(names.Len())+uint64(len(name)) > math.MaxUint32 {
				return nil, errors.New("kallsyms: symbol names exceed 4 GiB")
			}
			start := uint32(names.Len())
			names.Write(name)
			entries = append(entries, entry{addr: addr, start: start, end: uint32(names.Len())})
			nonZero = nonZero || addr != 0
		}
		if err == io.EOF {
			break
		}
	}
	if len(entries) > 0 && !nonZero {
		return nil, ErrAddressesHidden
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return cmp.Compare(a.addr, b.addr) })
	// Copy out of the growth buffers so that only exact sizes stay retained.
	return &symbols{entries: slices.Clone(entries), names: strings.Clone(names.String())}, nil
}

// parseLine splits "ADDR TYPE NAME[\t[MODULE]]\n". A blank line yields a nil
// name and no error. The returned name aliases line.
func parseLine(line []byte) (uint64, []byte, error) {
	line = bytes.TrimRight(line, "\r\n")
	if len(bytes.TrimSpace(line)) == 0 {
		return 0, nil, nil
	}
	addrText, rest, ok1 := bytes.Cut(line, []byte{' '})
	_, name, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 {
		return 0, nil, fmt.Errorf("want \"ADDR TYPE NAME\", got %q", line)
	}
	name, _, _ = bytes.Cut(name, []byte{'\t'})
	if len(name) == 0 {
		return 0, nil, fmt.Errorf("empty symbol name in %q", line)
	}
	addr, ok := parseHex(addrText)
	if !ok {
		return 0, nil, fmt.Errorf("bad address %q", addrText)
	}
	return addr, name, nil
}

// parseHex parses up to 16 hex digits without allocating.
func parseHex(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}
