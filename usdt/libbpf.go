package usdt

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"
)

// An object built against libbpf's <bpf/usdt.bpf.h> has three things
// cilium/ebpf v0.22 does not load, each fixed here the way libbpf treats it:
//
//   - __bpf_usdt_specs and __bpf_usdt_ip_to_spec_id are __weak maps, which
//     cilium/ebpf's ELF reader rejects: they become global (weak only
//     matters when linking several objects, which ebpfmon does not).
//   - bpf_usdt_arg & co are __weak __hidden globals. The kernel verifies a
//     global BPF function on its own, without knowing its callers pass
//     valid pointers, and rejects them; libbpf marks hidden functions
//     static in BTF so they are verified inline, and so does this.
//   - LINUX_HAS_BPF_COOKIE is a kconfig extern that libbpf answers itself;
//     cilium/ebpf looks it up in the kernel config and fails. Its loads are
//     rewritten to read a frozen one-byte map, HasCookieMap, that
//     PrepareLoad fills in for the running kernel.

// HasCookieMap names the map that stands in for LINUX_HAS_BPF_COOKIE in a
// spec from LoadCollectionSpec: one byte, 1 when the kernel has BPF
// cookies (5.15+), the attacher then passes the spec id as the uprobe's
// cookie; 0 when probes are told apart by address (IPMap).
//
// Its name starts with .rodata so that cilium/ebpf freezes it after filling
// it: the verifier then sees a constant.
const HasCookieMap = ".rodata.ebpfmon_usdt"

const cookieKconfig = "LINUX_HAS_BPF_COOKIE"

// LoadCollectionSpec reads a BPF object like ebpf.LoadCollectionSpec, and
// also accepts objects built against usdt.bpf.h. Objects that do not use it
// come out exactly as ebpf.LoadCollectionSpec reads them. It does not touch
// the kernel: call PrepareLoad before loading the spec.
func LoadCollectionSpec(path string) (*ebpf.CollectionSpec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	spec, err := ParseCollectionSpec(raw)
	if err != nil {
		return nil, fmt.Errorf("file %s: %w", path, err)
	}
	return spec, nil
}

// ParseCollectionSpec is LoadCollectionSpec for an object in memory.
func ParseCollectionSpec(raw []byte) (*ebpf.CollectionSpec, error) {
	patched, fixes := scanObject(raw)
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(patched))
	if err != nil {
		return nil, err
	}
	if len(fixes.hidden) > 0 {
		makeStatic(spec, fixes.hidden)
	}
	if len(fixes.cookieLoads) > 0 {
		if err := replaceCookieLoads(spec, fixes.cookieLoads); err != nil {
			return nil, err
		}
	}
	return spec, nil
}

// HaveCookies reports whether the kernel can give a uprobe a BPF cookie
// (5.15+); nil means it can. cilium/ebpf caches the answer.
func HaveCookies() error {
	return features.HaveProgramHelper(ebpf.Kprobe, asm.FnGetAttachCookie)
}

// PrepareLoad sets HasCookieMap in a spec from LoadCollectionSpec to what
// the running kernel supports. Specs without it are left alone.
func PrepareLoad(spec *ebpf.CollectionSpec) error {
	m := spec.Maps[HasCookieMap]
	if m == nil {
		return nil
	}
	have := byte(1)
	if err := HaveCookies(); errors.Is(err, ebpf.ErrNotSupported) {
		have = 0
	} else if err != nil {
		return fmt.Errorf("probe for BPF cookie support: %w", err)
	}
	m.Contents = []ebpf.MapKV{{Key: uint32(0), Value: []byte{have}}}
	return nil
}

// SetHasCookie sets HasCookieMap in spec to have, instead of asking the
// kernel (tests use it to exercise the address-based lookup).
func SetHasCookie(spec *ebpf.CollectionSpec, have bool) error {
	m := spec.Maps[HasCookieMap]
	if m == nil {
		return fmt.Errorf("the object does not read %s", cookieKconfig)
	}
	v := byte(0)
	if have {
		v = 1
	}
	m.Contents = []ebpf.MapKV{{Key: uint32(0), Value: []byte{v}}}
	return nil
}

// insnRef is an instruction by function symbol and 8-byte slot within it.
type insnRef struct {
	fn   string
	slot uint64
}

type objectFixes struct {
	hidden      map[string]bool // hidden global functions
	cookieLoads []insnRef       // loads of LINUX_HAS_BPF_COOKIE
}

// scanObject finds what needs fixing in a BPF ELF object and returns a copy
// with weak map symbols made global. Anything it cannot parse is left to
// cilium/ebpf to report.
func scanObject(raw []byte) ([]byte, objectFixes) {
	var fx objectFixes
	f, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil || f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_BPF {
		return raw, fx
	}
	symtab := f.SectionByType(elf.SHT_SYMTAB)
	syms, err := f.Symbols()
	if symtab == nil || err != nil || symtab.Entsize != 24 {
		return raw, fx
	}
	out, copied := raw, false
	for i, s := range syms {
		if int(s.Section) >= len(f.Sections) || s.Section == elf.SHN_UNDEF {
			continue
		}
		sec := f.Sections[s.Section].Name
		switch {
		case elf.ST_BIND(s.Info) == elf.STB_WEAK && (sec == ".maps" || sec == "maps"):
			if !copied {
				out, copied = bytes.Clone(raw), true
			}
			// Symbol i+1: Symbols() leaves out the null symbol 0. st_info
			// is the byte after the 4-byte st_name.
			at := symtab.Offset + uint64(i+1)*symtab.Entsize + 4
			if at < uint64(len(out)) {
				out[at] = byte(elf.STB_GLOBAL)<<4 | byte(elf.ST_TYPE(s.Info))
			}
		case elf.ST_TYPE(s.Info) == elf.STT_FUNC && elf.ST_VISIBILITY(s.Other) == elf.STV_HIDDEN:
			if fx.hidden == nil {
				fx.hidden = map[string]bool{}
			}
			fx.hidden[s.Name] = true
		}
	}
	fx.cookieLoads = kconfigLoads(f, syms, cookieKconfig)
	return out, fx
}

// kconfigLoads finds the instructions relocated against the extern name.
func kconfigLoads(f *elf.File, syms []elf.Symbol, name string) []insnRef {
	var refs []insnRef
	for _, rel := range f.Sections {
		if rel.Type != elf.SHT_REL || int(rel.Info) >= len(f.Sections) {
			continue
		}
		target := elf.SectionIndex(rel.Info)
		data, err := rel.Data()
		if err != nil {
			continue
		}
		for off := 0; off+16 <= len(data); off += 16 {
			at := f.ByteOrder.Uint64(data[off:])
			idx := f.ByteOrder.Uint64(data[off+8:]) >> 32
			if idx == 0 || idx > uint64(len(syms)) || syms[idx-1].Name != name || syms[idx-1].Section != elf.SHN_UNDEF {
				continue
			}
			for _, s := range syms {
				if s.Section == target && elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value <= at && at < s.Value+s.Size {
					refs = append(refs, insnRef{s.Name, (at - s.Value) / asm.InstructionSize})
					break
				}
			}
		}
	}
	return refs
}

// makeStatic gives hidden functions static BTF linkage.
func makeStatic(spec *ebpf.CollectionSpec, hidden map[string]bool) {
	for _, p := range spec.Programs {
		for i := range p.Instructions {
			if fn := btf.FuncMetadata(&p.Instructions[i]); fn != nil && hidden[fn.Name] {
				fn.Linkage = btf.StaticFunc
			}
		}
	}
}

// replaceCookieLoads points the LINUX_HAS_BPF_COOKIE loads at HasCookieMap
// and drops the variable from .kconfig, so that cilium/ebpf only resolves
// the kconfig values it knows.
func replaceCookieLoads(spec *ebpf.CollectionSpec, refs []insnRef) error {
	want := map[insnRef]bool{}
	for _, r := range refs {
		want[r] = true
	}
	found, linked := map[insnRef]bool{}, map[string]bool{}
	for _, p := range spec.Programs {
		fn, slot := "", uint64(0)
		for i := range p.Instructions {
			ins := &p.Instructions[i]
			if sym := ins.Symbol(); sym != "" {
				fn, slot = sym, 0
				linked[fn] = true
			}
			r := insnRef{fn, slot}
			slot += ins.Size() / asm.InstructionSize
			if !want[r] {
				continue
			}
			if !ins.OpCode.IsDWordLoad() {
				return fmt.Errorf("%s: instruction %d of %s (%v) is not a load", cookieKconfig, r.slot, r.fn, ins)
			}
			repl := asm.LoadMapValue(ins.Dst, 0, 0).WithReference(HasCookieMap).WithSymbol(ins.Symbol()).WithSource(ins.Source())
			if f := btf.FuncMetadata(ins); f != nil {
				repl = btf.WithFuncMetadata(repl, f)
			}
			*ins = repl
			found[r] = true
		}
	}
	// Functions no program calls are not in the spec; any other load
	// left behind would fail at load time, so say so now.
	for r := range want {
		if linked[r.fn] && !found[r] {
			return fmt.Errorf("%s: no load at instruction %d of %s", cookieKconfig, r.slot, r.fn)
		}
	}
	var ds *btf.Datasec
	if spec.Types != nil && spec.Types.TypeByName(".kconfig", &ds) == nil {
		vars := ds.Vars[:0:0]
		for _, v := range ds.Vars {
			if v.Type.TypeName() != cookieKconfig {
				vars = append(vars, v)
			}
		}
		ds.Vars = vars
	}
	spec.Maps[HasCookieMap] = &ebpf.MapSpec{
		Name:       HasCookieMap,
		Type:       ebpf.Array,
		KeySize:    4,
		ValueSize:  1,
		MaxEntries: 1,
		// Read-only for programs and frozen (.rodata): the verifier sees a
		// constant and drops the branch the kernel cannot run
		// (bpf_get_attach_cookie before 5.15), as with libbpf's kconfig map.
		Flags:    unix.BPF_F_RDONLY_PROG,
		Contents: []ebpf.MapKV{{Key: uint32(0), Value: []byte{1}}},
	}
	return nil
}
