package kallsyms

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
)

// MaxTail bounds the extent of a symbol that is the last of its run (the
// run of text, or of data, of one module, of the core kernel or of BPF
// JIT code) when /proc/modules gives no end for it: kallsyms lists no
// sizes, and past the last symbol of a run there may be unmapped space or
// code loaded after the table was read.
const MaxTail = 64 << 10

// symbols is the parsed, immutable content of a kallsyms file.
type symbols struct {
	entries []entry  // sorted by address, file order among equal addresses
	names   string   // all names, concatenated
	regions []region // by entry.region; 0 is the core kernel
}

// entry is one symbol: its address, the bounds of its name in names, its
// region and whether it is text.
type entry struct {
	addr       uint64
	start, end uint32
	region     uint32
	text       bool
}

// region is the core kernel (name "") or what kallsyms names in brackets:
// a module, "bpf", "__builtin__ftrace"... end is the end of its memory from
// /proc/modules, 0 when unknown.
type region struct {
	name       string
	start, end uint64
}

// find returns the symbol whose extent holds addr. ok is false when none
// does: addr is below every symbol, or past the bound of the last symbol
// of a run.
func (s *symbols) find(addr uint64) (sym Symbol, ok bool) {
	e := s.entries
	// i is the number of symbols starting at or below addr.
	i := sort.Search(len(e), func(i int) bool { return e[i].addr > addr })
	if i == 0 {
		return Symbol{}, false
	}
	first := i - 1
	for first > 0 && e[first-1].addr == e[first].addr {
		first--
	}
	// A symbol holds at least its own address, even at the top of the
	// address space, where its exclusive end cannot be written.
	if addr != e[first].addr && addr >= s.extentEnd(first, i) {
		return Symbol{}, false
	}
	got := e[first]
	return Symbol{Name: s.name(got), Module: s.regions[got.region].name, Addr: got.addr, Offset: addr - got.addr}, true
}

// extentEnd is where the symbol e[i] ends (exclusive): the next symbol, at
// e[next] (len(e) if none), when it continues the same run; otherwise
// that symbol or the region's end from /proc/modules or MaxTail past the
// start, whichever comes first.
func (s *symbols) extentEnd(i, next int) uint64 {
	e := s.entries
	cur := e[i]
	if next < len(e) && e[next].region == cur.region && e[next].text == cur.text {
		return e[next].addr
	}
	end := uint64(math.MaxUint64)
	if r := s.regions[cur.region]; r.end > cur.addr && r.start <= cur.addr {
		end = r.end
	} else if cur.addr <= math.MaxUint64-MaxTail {
		end = cur.addr + MaxTail
	}
	if next < len(e) {
		end = min(end, e[next].addr)
	}
	return end
}

func (s *symbols) name(e entry) string { return s.names[e.start:e.end] }

// parse reads a kallsyms-format stream and applies the module ranges,
// by module name.
func parse(r io.Reader, modules map[string]region) (*symbols, error) {
	var (
		entries []entry
		names   strings.Builder
		nonZero bool
	)
	regions := []region{{}}
	index := map[string]uint32{"": 0}
	br := bufio.NewReaderSize(r, 64<<10)
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadSlice('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("kallsyms: line %d: %w", lineNo, err)
		}
		l, perr := parseLine(line)
		if perr != nil {
			return nil, fmt.Errorf("kallsyms: line %d: %w", lineNo, perr)
		}
		if l.name != nil {
			if uint64(names.Len())+uint64(len(l.name)) > math.MaxUint32 {
				return nil, errors.New("kallsyms: symbol names exceed 4 GiB")
			}
			reg, ok := index[string(l.module)]
			if !ok {
				reg = uint32(len(regions))
				index[string(l.module)] = reg
				r := modules[string(l.module)]
				r.name = string(l.module)
				regions = append(regions, r)
			}
			start := uint32(names.Len())
			names.Write(l.name)
			entries = append(entries, entry{addr: l.addr, start: start, end: uint32(names.Len()), region: reg, text: l.text})
			nonZero = nonZero || l.addr != 0
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
	return &symbols{entries: slices.Clone(entries), names: strings.Clone(names.String()), regions: regions}, nil
}

// line is one parsed kallsyms line; name and module alias the input.
type line struct {
	addr         uint64
	name, module []byte
	text         bool
}

// parseLine splits "ADDR TYPE NAME[\t[MODULE]]\n". A blank line yields a nil
// name and no error.
func parseLine(raw []byte) (line, error) {
	raw = bytes.TrimRight(raw, "\r\n")
	if len(bytes.TrimSpace(raw)) == 0 {
		return line{}, nil
	}
	addrText, rest, ok1 := bytes.Cut(raw, []byte{' '})
	typ, name, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 {
		return line{}, fmt.Errorf("want \"ADDR TYPE NAME\", got %q", raw)
	}
	name, module, _ := bytes.Cut(name, []byte{'\t'})
	if len(name) == 0 {
		return line{}, fmt.Errorf("empty symbol name in %q", raw)
	}
	addr, ok := parseHex(addrText)
	if !ok {
		return line{}, fmt.Errorf("bad address %q", addrText)
	}
	module = bytes.TrimSuffix(bytes.TrimPrefix(bytes.TrimSpace(module), []byte{'['}), []byte{']'})
	return line{addr: addr, name: name, module: module, text: isText(typ)}, nil
}

// isText reports whether a kallsyms type letter is a text (code) symbol:
// t, T, or a weak symbol (w, W), which is nearly always code.
func isText(typ []byte) bool {
	return len(typ) == 1 && bytes.IndexByte([]byte("tTwW"), typ[0]) >= 0
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

// parseModules reads /proc/modules lines, "NAME SIZE REFS DEPS STATE ADDR
// [TAINT]", into the memory range of each module: [ADDR, ADDR+SIZE). A
// module whose address is hidden (zero) or whose line is malformed is left
// out: its symbols are then bounded by MaxTail.
func parseModules(r io.Reader) map[string]region {
	out := map[string]region{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			continue
		}
		var size, addr uint64
		if _, err := fmt.Sscanf(f[1], "%d", &size); err != nil {
			continue
		}
		addr, ok := parseHex([]byte(strings.TrimPrefix(f[5], "0x")))
		if !ok || addr == 0 || size == 0 || addr > math.MaxUint64-size {
			continue
		}
		out[f[0]] = region{start: addr, end: addr + size}
	}
	return out
}
