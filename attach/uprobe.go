package attach

import (
	"bytes"
	"cmp"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/ebpfmon/ebpfmon/internal/regfile"
	"github.com/ebpfmon/ebpfmon/internal/suggest"
)

// ErrNotELF is wrapped by errors for uprobe and USDT targets that are not
// ELF executables or shared libraries.
var ErrNotELF = errors.New("not an ELF executable or shared library")

// ErrSymbolNotFound is wrapped when a uprobe's symbol is not in the file.
var ErrSymbolNotFound = errors.New("symbol not found")

// uprobe attaches to uprobe/PATH:SYMBOL[+OFFSET].
func uprobe(target string, prog *ebpf.Program, opts Options) (io.Closer, error) {
	return userProbe(target, prog, opts, false)
}

// uretprobe attaches to uretprobe/PATH:SYMBOL.
func uretprobe(target string, prog *ebpf.Program, opts Options) (io.Closer, error) {
	return userProbe(target, prog, opts, true)
}

// userProbe resolves PATH (see resolveBinary) and SYMBOL itself, then hands
// cilium/ebpf a file offset: cilium/ebpf's own lookup knows neither
// versioned names (malloc@@GLIBC_2.2.5) nor why a symbol is missing.
func userProbe(target string, prog *ebpf.Program, opts Options, ret bool) (io.Closer, error) {
	kind := "uprobe"
	if ret {
		kind = "uretprobe"
	}
	path, symbol, offset, err := parseUprobe(target)
	if err != nil {
		return nil, err
	}
	if ret && offset != 0 {
		return nil, fmt.Errorf("%s %q: a return probe fires when the function returns, it takes no +OFFSET", kind, target)
	}
	bin, err := resolveBinary(path, opts.Root)
	if err != nil {
		return nil, err
	}
	f, err := openELF(bin)
	if err != nil {
		return nil, err
	}
	addr, err := funcOffset(f, bin, symbol, offset)
	f.Close()
	if err != nil {
		return nil, err
	}
	exe, err := link.OpenExecutable(bin)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", bin, err)
	}
	name, _, _ := splitVersion(symbol)
	uopts := &link.UprobeOptions{Address: addr}
	var l link.Link
	if ret {
		l, err = exe.Uretprobe(name, prog, uopts)
	} else {
		l, err = exe.Uprobe(name, prog, uopts)
	}
	if err != nil {
		return nil, hookError(kind, bin+":"+symbol, err, "uprobes need CONFIG_UPROBE_EVENTS")
	}
	return l, nil
}

func checkUprobe(target string) error {
	_, _, _, err := parseUprobe(target)
	return err
}

// parseUprobe splits "PATH:SYMBOL[+OFFSET]". PATH may itself hold no colon.
func parseUprobe(target string) (path, symbol string, offset uint64, err error) {
	path, rest, ok := strings.Cut(target, ":")
	if !ok || path == "" {
		return "", "", 0, fmt.Errorf("want uprobe/PATH:SYMBOL[+OFFSET], got %q", target)
	}
	symbol, offset, err = symbolOffset(rest)
	return path, symbol, offset, err
}

// openELF opens an executable or shared library.
func openELF(path string) (*elf.File, error) {
	// Opening a FIFO blocks until a writer comes, and a device may never
	// end: refuse what is not a regular file before elf.Open opens it.
	rf, err := regfile.Open(path, math.MaxInt64)
	if errors.Is(err, regfile.ErrNotRegular) {
		return nil, fmt.Errorf("%w (%w)", err, ErrNotELF)
	}
	if err == nil {
		rf.Close()
	}
	f, err := elf.Open(path)
	var ferr *elf.FormatError
	switch {
	case errors.As(err, &ferr):
		return nil, fmt.Errorf("%s: %w%s", path, ErrNotELF, whatIsIt(path))
	case errors.Is(err, fs.ErrNotExist):
		// err already names the path.
		return nil, fmt.Errorf("%w (no such file on this host: fix the path in the section, or install the program it probes)", err)
	case err != nil:
		return nil, err
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		f.Close()
		return nil, fmt.Errorf("%s: %w (it is an ELF %s)", path, ErrNotELF, f.Type)
	}
	return f, nil
}

// whatIsIt describes a file that is not ELF, for errors.
func whatIsIt(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b := make([]byte, 256)
	n, _ := io.ReadFull(f, b)
	b = b[:n]
	if line, ok := bytes.CutPrefix(b, []byte("#!")); ok {
		line, _, _ = bytes.Cut(line, []byte("\n"))
		return fmt.Sprintf(" (a script for %s: probe its interpreter)", strings.TrimSpace(string(line)))
	}
	if bytes.HasPrefix(b, []byte("!<arch>\n")) {
		return " (a static library archive: probe the programs linked with it)"
	}
	return ""
}

// splitVersion splits "name@@VERSION" (the default version) and
// "name@VERSION" (any version of that name, as nm prints hidden ones).
func splitVersion(s string) (name, version string, isDefault bool) {
	if n, v, ok := strings.Cut(s, "@@"); ok {
		return n, v, true
	}
	n, v, _ := strings.Cut(s, "@")
	return n, v, false
}

// funcSym is a function symbol from .symtab or .dynsym.
type funcSym struct {
	name, version string
	hidden        bool // a non-default version (name@VERSION)
	local         bool
	ifunc         bool
	undef         bool // imported from library
	library       string
	value, size   uint64
}

func (s funcSym) String() string {
	switch {
	case s.version == "":
		return s.name
	case s.hidden:
		return s.name + "@" + s.version
	}
	return s.name + "@@" + s.version
}

// funcSymbols lists f's function symbols, static then dynamic.
func funcSymbols(f *elf.File) []funcSym {
	var out []funcSym
	static, _ := f.Symbols()
	dynamic, _ := f.DynamicSymbols()
	for i, s := range append(static, dynamic...) {
		typ := elf.ST_TYPE(s.Info)
		undef := s.Section == elf.SHN_UNDEF
		if typ != elf.STT_FUNC && typ != elf.STT_GNU_IFUNC && !(undef && typ == elf.STT_NOTYPE && s.Name != "") {
			continue
		}
		fs := funcSym{
			name: s.Name, local: elf.ST_BIND(s.Info) == elf.STB_LOCAL, ifunc: typ == elf.STT_GNU_IFUNC,
			undef: undef, library: s.Library, value: s.Value, size: s.Size,
		}
		if i < len(static) {
			// .symtab spells versions into the name: foo@@V1, foo@V0.
			n, v, def := splitVersion(s.Name)
			fs.name, fs.version, fs.hidden = n, v, v != "" && !def
		} else if s.HasVersion && s.Version != "" && !undef {
			fs.version, fs.hidden = s.Version, s.VersionIndex.IsHidden()
		}
		out = append(out, fs)
	}
	return out
}

// funcOffset returns the file offset of symbol (NAME, NAME@VERSION or
// NAME@@VERSION) plus offset in f, which is at path.
func funcOffset(f *elf.File, path, symbol string, offset uint64) (uint64, error) {
	name, version, isDefault := splitVersion(symbol)
	syms := funcSymbols(f)
	var defined, imported, otherVersions []funcSym
	for _, s := range syms {
		if s.name != name {
			continue
		}
		if s.undef || s.value == 0 {
			imported = append(imported, s)
			continue
		}
		if version != "" && (s.version != version || (isDefault && s.hidden)) {
			otherVersions = append(otherVersions, s)
			continue
		}
		defined = append(defined, s)
	}
	if len(defined) == 0 {
		switch {
		case len(otherVersions) > 0:
			return 0, fmt.Errorf("%s: %w: %s (there is %s)", path, ErrSymbolNotFound, symbol, joinSyms(otherVersions))
		case len(imported) > 0:
			lib := ""
			for _, s := range imported {
				lib = cmp.Or(lib, s.library)
			}
			return 0, fmt.Errorf("%s: %w: %s is imported from %s, not defined here: probe the library, e.g. uprobe/%s:%s",
				path, ErrSymbolNotFound, name, cmp.Or(lib, "a shared library"), cmp.Or(lib, "LIBRARY"), name)
		}
		return 0, fmt.Errorf("%s: %w: %s (%s)", path, ErrSymbolNotFound, symbol, similarFuncs(syms, name, path))
	}
	s, err := pickSym(defined, symbol)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if s.ifunc {
		return 0, fmt.Errorf("%s: %s is a GNU indirect function: the symbol is its resolver, which runs once while the program loads; "+
			"probe the implementation it picks instead (named in the library's debug symbols, e.g. __%s_avx2)", path, s, name)
	}
	if s.size > 0 && offset >= s.size {
		return 0, fmt.Errorf("%s: offset %#x is past the end of %s (%d bytes)", path, offset, s, s.size)
	}
	addr := s.value + offset
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && p.Vaddr <= addr && addr-p.Vaddr < p.Memsz {
			return addr - p.Vaddr + p.Off, nil
		}
	}
	return 0, fmt.Errorf("%s: %s at %#x is in no executable segment", path, s, addr)
}

// pickSym chooses among definitions of one name: they usually share an
// address (.symtab and .dynsym, aliases); otherwise the default version
// wins over older ones, and a global definition over local ones.
func pickSym(defined []funcSym, symbol string) (funcSym, error) {
	for _, prefer := range []func(funcSym) bool{
		func(funcSym) bool { return true },
		func(s funcSym) bool { return !s.hidden },
		func(s funcSym) bool { return !s.hidden && !s.local },
	} {
		var keep []funcSym
		for _, s := range defined {
			if prefer(s) {
				keep = append(keep, s)
			}
		}
		if len(keep) > 0 {
			defined = keep
		}
		if slices.IndexFunc(defined, func(s funcSym) bool { return s.value != defined[0].value }) < 0 {
			return defined[0], nil
		}
	}
	var where []string
	for _, s := range defined {
		where = append(where, fmt.Sprintf("%s at %#x", s, s.value))
	}
	return funcSym{}, fmt.Errorf("%s is ambiguous: %s; name a version (NAME@@VERSION) or use another symbol", symbol, strings.Join(where, ", "))
}

func joinSyms(syms []funcSym) string {
	var names []string
	for _, s := range syms {
		if n := s.String(); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

// maxSuggestions bounds the names an error suggests.
const maxSuggestions = 8

// similarFuncs names the defined functions closest to name, for errors.
func similarFuncs(syms []funcSym, name, path string) string {
	type scored struct {
		name string
		dist int
	}
	var (
		all  []scored
		seen = map[string]bool{}
	)
	lower := strings.ToLower(name)
	for _, s := range syms {
		if s.undef || s.value == 0 || seen[s.name] {
			continue
		}
		seen[s.name] = true
		l := strings.ToLower(s.name)
		d := suggest.Distance(lower, l)
		if strings.Contains(l, lower) || strings.Contains(lower, l) && len(l) > 2 {
			d = min(d, 1+abs(len(l)-len(lower))/4)
		}
		if d <= max(2, len(name)/3) {
			all = append(all, scored{s.name, d})
		}
	}
	if len(seen) == 0 {
		return "the file has no function symbols: it is stripped; probe a build with its symbols"
	}
	if len(all) == 0 {
		return fmt.Sprintf("%d functions, none named alike; list them with `nm -D --defined-only %s`", len(seen), path)
	}
	slices.SortFunc(all, func(a, b scored) int { return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.name, b.name)) })
	var names []string
	for _, s := range all[:min(len(all), maxSuggestions)] {
		names = append(names, s.name)
	}
	return fmt.Sprintf("%d functions; similar: %s", len(seen), strings.Join(names, ", "))
}

func abs(n int) int { return max(n, -n) }
