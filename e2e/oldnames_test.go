package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// oldTracepointNames are the tracepoint structs whose names changed, by
// their name on this kernel and before: pagefaults and biolatency read
// them through CO-RE flavours of both.
var oldTracepointNames = map[string]string{
	"trace_event_raw_exceptions":          "trace_event_raw_x86_exceptions",    // until 6.12
	"trace_event_raw_block_rq_completion": "trace_event_raw_block_rq_complete", // until 5.18
}

// TestExamplesOldTracepointNames loads pagefaults and biolatency against
// this kernel's BTF with the renamed structs given their old names (as
// --btf.path), so their older kernels' branch is verified and attached
// here, not only in the kernel lab.
func TestExamplesOldTracepointNames(t *testing.T) {
	spec, err := kernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	b, err := btf.NewBuilder(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	renamed := 0
	for typ, err := range spec.Copy().All() {
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := typ.(*btf.Struct); ok && oldTracepointNames[s.Name] != "" {
			s.Name = oldTracepointNames[s.Name]
			renamed++
		}
		if _, err := b.Add(typ); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old-names.btf")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out, ok := check(t, "--config.dir="+examplesDir, "--config.names=pagefaults,biolatency", "--btf.path="+path)
	if !ok {
		t.Fatalf("pagefaults and biolatency with the old struct names (%d renamed) failed:\n%s", renamed, out)
	}
	t.Logf("%d structs renamed; pagefaults and biolatency loaded and attached", renamed)
}
