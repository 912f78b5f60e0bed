package attach

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/ebpfmon/ebpfmon/usdt"
)

// ErrProbeNotFound is wrapped when a binary has no USDT probe of the
// requested provider and name.
var ErrProbeNotFound = errors.New("USDT probe not found")

// usdtAttach attaches to usdt/PATH:PROVIDER:NAME: one uprobe per site of
// the probe in PATH (see resolveBinary), each with the spec of its
// arguments in the object's __bpf_usdt_specs map for bpf_usdt_arg, found
// through the uprobe's BPF cookie (5.15+) or, without cookies, through the
// probe's address in __bpf_usdt_ip_to_spec_id (non-PIE executables only).
// Probes with a semaphore get it counted up by the kernel while attached
// (ref_ctr_offset, 4.20+). An object that does not include usdt.bpf.h
// (no __bpf_usdt_specs) is attached without argument specs.
//
// Spec ids are shared by all programs of an object: a site whose spec is
// already in the map reuses its id, others take the first free (all-zero)
// slot; entries stay until the object is closed. Attach the programs of
// one object one at a time.
func usdtAttach(target string, prog *ebpf.Program, opts Options) (io.Closer, error) {
	path, provider, name, err := parseUSDT(target)
	if err != nil {
		return nil, err
	}
	bin, err := resolveBinary(path, opts.Root)
	if err != nil {
		return nil, err
	}
	f, err := openELF(bin)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	probes, err := usdt.Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bin, err)
	}
	var sites []usdt.Probe
	for _, p := range probes {
		if p.Provider == provider && p.Name == name {
			sites = append(sites, p)
		}
	}
	if len(sites) == 0 {
		return nil, fmt.Errorf("%s: %w: %s:%s (%s)", bin, ErrProbeNotFound, provider, name, availableProbes(probes, provider))
	}

	specs := newSpecTable(opts.Maps)
	var cookies bool
	if specs != nil {
		if cookies, err = specs.useCookies(); err != nil {
			return nil, err
		}
		if !cookies && f.Type != elf.ET_EXEC {
			return nil, fmt.Errorf("%s: USDT arguments in a shared library or PIE executable need BPF cookies (Linux 5.15+); "+
				"this kernel has none, and probe addresses differ between processes", bin)
		}
	}
	exe, err := link.OpenExecutable(bin)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", bin, err)
	}
	lookup := usdt.SymbolLookup(f)
	var links closers
	for _, p := range sites {
		uopts := &link.UprobeOptions{Address: p.Offset, RefCtrOffset: p.SemaphoreOffset}
		if specs != nil {
			spec, err := usdt.NewSpec(p, f.Machine, lookup)
			if err != nil {
				links.Close()
				return nil, fmt.Errorf("%s: %w", bin, err)
			}
			id, err := specs.add(spec, p.Address, cookies)
			if err != nil {
				links.Close()
				return nil, fmt.Errorf("%s: probe %s at %#x: %w", bin, p, p.Address, err)
			}
			if cookies {
				uopts.Cookie = uint64(id)
			}
		}
		l, err := exe.Uprobe(provider+"_"+name, prog, uopts)
		if err != nil {
			links.Close()
			hint := "uprobes need CONFIG_UPROBE_EVENTS"
			if p.SemaphoreOffset != 0 {
				hint += "; probes with a semaphore need Linux 4.20+"
			}
			return nil, hookError("usdt", fmt.Sprintf("%s:%s at %#x", bin, p, p.Address), err, hint)
		}
		links = append(links, l)
	}
	return links, nil
}

func checkUSDT(target string) error {
	_, _, _, err := parseUSDT(target)
	return err
}

// parseUSDT splits "PATH:PROVIDER:NAME"; PATH may hold colons.
func parseUSDT(target string) (path, provider, name string, err error) {
	i := strings.LastIndexByte(target, ':')
	j := -1
	if i > 0 {
		j = strings.LastIndexByte(target[:i], ':')
	}
	if j <= 0 || i-j == 1 || i == len(target)-1 {
		return "", "", "", fmt.Errorf("want usdt/PATH:PROVIDER:NAME, got %q", target)
	}
	return target[:j], target[j+1 : i], target[i+1:], nil
}

// maxListedProbes bounds the probes an error lists.
const maxListedProbes = 30

// availableProbes lists a file's probes for an error, those of provider
// first.
func availableProbes(probes []usdt.Probe, provider string) string {
	var names []string
	for _, p := range probes {
		if n := p.String(); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.SortStableFunc(names, func(a, b string) int {
		ap, bp := strings.HasPrefix(a, provider+":"), strings.HasPrefix(b, provider+":")
		switch {
		case ap == bp:
			return strings.Compare(a, b)
		case ap:
			return -1
		}
		return 1
	})
	more := ""
	if len(names) > maxListedProbes {
		more = fmt.Sprintf(" and %d more", len(names)-maxListedProbes)
		names = names[:maxListedProbes]
	}
	return "it has " + strings.Join(names, " ") + more
}

// specTable fills the maps usdt.bpf.h reads.
type specTable struct {
	specs     *ebpf.Map // usdt.SpecsMap
	ips       *ebpf.Map // usdt.IPMap, may be nil
	hasCookie *ebpf.Map // usdt.HasCookieMap, may be nil
}

// newSpecTable returns nil when the object has no usdt.SpecsMap.
func newSpecTable(maps map[string]*ebpf.Map) *specTable {
	m := maps[usdt.SpecsMap]
	if m == nil {
		return nil
	}
	return &specTable{specs: m, ips: maps[usdt.IPMap], hasCookie: maps[usdt.HasCookieMap]}
}

// useCookies says how the programs find their spec: what the object was
// loaded with (usdt.PrepareLoad), or else what the kernel supports.
func (t *specTable) useCookies() (bool, error) {
	if t.hasCookie != nil {
		var v [1]byte
		if err := t.hasCookie.Lookup(uint32(0), v[:]); err != nil {
			return false, fmt.Errorf("read %s: %w", usdt.HasCookieMap, err)
		}
		return v[0] != 0, nil
	}
	err := usdt.HaveCookies()
	if errors.Is(err, ebpf.ErrNotSupported) {
		return false, nil
	}
	return err == nil, err
}

// add stores spec and returns its id; without cookies it also maps the
// probe's address to the id.
func (t *specTable) add(spec usdt.Spec, addr uint64, cookies bool) (uint32, error) {
	if t.specs.ValueSize() != usdt.SpecSize {
		return 0, fmt.Errorf("map %s has %d-byte values, want %d (struct __bpf_usdt_spec of libbpf 1.x's usdt.bpf.h)",
			usdt.SpecsMap, t.specs.ValueSize(), usdt.SpecSize)
	}
	want, err := spec.MarshalBinary()
	if err != nil {
		return 0, err
	}
	id, err := t.slot(want)
	if err != nil {
		return 0, err
	}
	if err := t.specs.Put(id, want); err != nil {
		return 0, fmt.Errorf("store spec %d in %s: %w", id, usdt.SpecsMap, err)
	}
	if !cookies {
		if t.ips == nil {
			return 0, fmt.Errorf("no BPF cookies on this kernel and no %s map to find the spec by address", usdt.IPMap)
		}
		if err := t.ips.Put(int64(addr), id); err != nil {
			return 0, fmt.Errorf("store address %#x in %s: %w", addr, usdt.IPMap, err)
		}
	}
	return id, nil
}

// slot finds the id of an identical spec, or else the first unused one.
func (t *specTable) slot(want []byte) (uint32, error) {
	zero := make([]byte, len(want))
	got := make([]byte, len(want))
	free := -1
	for id := uint32(0); id < t.specs.MaxEntries(); id++ {
		if err := t.specs.Lookup(id, got); err != nil {
			return 0, fmt.Errorf("read %s[%d]: %w", usdt.SpecsMap, id, err)
		}
		if bytes.Equal(got, want) {
			return id, nil
		}
		if free < 0 && bytes.Equal(got, zero) {
			free = int(id)
		}
	}
	if free < 0 {
		return 0, fmt.Errorf("%s is full (%d specs): raise BPF_USDT_MAX_SPEC_CNT", usdt.SpecsMap, t.specs.MaxEntries())
	}
	return uint32(free), nil
}
