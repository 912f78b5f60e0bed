package usdt

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// compileBPF builds C source (a file, or inline text) into a BPF object.
func compileBPF(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := os.Stat(src); err != nil {
		file := filepath.Join(dir, "x.bpf.c")
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		src = file
	}
	obj := filepath.Join(dir, "x.bpf.o")
	testenv.CompileBPF(t, src, obj)
	return obj
}

// withKconfig uses usdt.bpf.h and a real kconfig value, so .kconfig keeps
// a variable once LINUX_HAS_BPF_COOKIE is gone.
const withKconfig = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>
extern unsigned long CONFIG_HZ __kconfig;
__u64 out;
SEC("usdt")
int BPF_USDT(prog, long a)
{
	out = a + CONFIG_HZ + bpf_usdt_arg_cnt(ctx);
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
`

const plain = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");
SEC("kprobe/do_nanosleep")
int prog(void *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&counts, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
`

// TestLoadCollectionSpec checks, without the kernel, that objects built
// against usdt.bpf.h read, with the three fixes, and others read as
// cilium/ebpf reads them.
func TestLoadCollectionSpec(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"example", "../examples/usdt.bpf.c"},
		{"with kconfig", withKconfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := compileBPF(t, tc.src)
			if _, err := ebpf.LoadCollectionSpec(obj); err == nil {
				t.Log("cilium/ebpf now reads usdt.bpf.h objects by itself: the weak-map fix may be obsolete")
			}
			spec, err := LoadCollectionSpec(obj)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []string{SpecsMap, IPMap, HasCookieMap} {
				if spec.Maps[m] == nil {
					t.Errorf("no map %s", m)
				}
			}
			if vs := spec.Maps[SpecsMap].ValueSize; vs != SpecSize {
				t.Errorf("%s values are %d bytes, want %d", SpecsMap, vs, SpecSize)
			}
			var ds *btf.Datasec
			if err := spec.Types.TypeByName(".kconfig", &ds); err != nil {
				t.Fatal(err)
			}
			for _, v := range ds.Vars {
				if v.Type.TypeName() == cookieKconfig {
					t.Errorf(".kconfig still holds %s", cookieKconfig)
				}
			}
			for _, p := range spec.Programs {
				for i := range p.Instructions {
					ins := &p.Instructions[i]
					if fn := btf.FuncMetadata(ins); fn != nil && fn.Name == "bpf_usdt_arg" && fn.Linkage != btf.StaticFunc {
						t.Errorf("%s: bpf_usdt_arg has %v linkage, want static", p.Name, fn.Linkage)
					}
				}
			}
		})
	}
	t.Run("plain", func(t *testing.T) {
		obj := compileBPF(t, plain)
		want, err := ebpf.LoadCollectionSpec(obj)
		if err != nil {
			t.Fatal(err)
		}
		got, err := LoadCollectionSpec(obj)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Maps) != len(want.Maps) || got.Maps[HasCookieMap] != nil {
			t.Errorf("maps %v, want %v", got.Maps, want.Maps)
		}
		if g, w := got.Programs["prog"].Instructions.String(), want.Programs["prog"].Instructions.String(); g != w {
			t.Errorf("instructions differ:\n%s\nwant\n%s", g, w)
		}
		if err := PrepareLoad(got); err != nil {
			t.Errorf("PrepareLoad: %v", err)
		}
	})
	t.Run("not an object", func(t *testing.T) {
		if _, err := ParseCollectionSpec([]byte("\x7fELF nope")); err == nil {
			t.Error("no error")
		}
	})
}

// TestLoadUSDTObjects loads objects built against usdt.bpf.h into the
// kernel, with and without BPF cookies: the verifier accepts both paths.
func TestLoadUSDTObjects(t *testing.T) {
	testenv.Privileged(t)
	for _, tc := range []struct{ name, src string }{
		{"example", "../examples/usdt.bpf.c"},
		{"with kconfig", withKconfig},
	} {
		obj := compileBPF(t, tc.src)
		for _, cookie := range []bool{true, false} {
			name := tc.name + "/cookie"
			if !cookie {
				name = tc.name + "/no cookie"
			}
			t.Run(name, func(t *testing.T) {
				if err := HaveCookies(); cookie && err != nil {
					t.Skipf("no BPF cookies on this kernel (5.15+): %v", err)
				}
				spec, err := LoadCollectionSpec(obj)
				if err != nil {
					t.Fatal(err)
				}
				if err := PrepareLoad(spec); err != nil {
					t.Fatal(err)
				}
				if err := SetHasCookie(spec, cookie); err != nil {
					t.Fatal(err)
				}
				coll, err := ebpf.NewCollection(spec)
				if err != nil {
					t.Fatalf("load: %v", err)
				}
				defer coll.Close()
				var v [1]byte
				if err := coll.Maps[HasCookieMap].Lookup(uint32(0), v[:]); err != nil || (v[0] == 1) != cookie {
					t.Errorf("%s = %v, %v", HasCookieMap, v, err)
				}
				if err := coll.Maps[HasCookieMap].Put(uint32(0), []byte{0}); err == nil {
					t.Errorf("%s is writable: not frozen, the verifier cannot prune the cookie branch", HasCookieMap)
				}
			})
		}
	}
}
