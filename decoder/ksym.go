package decoder

import (
	"encoding/binary"
	"fmt"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/kallsyms"
)

// ksymDecoder (YAML "ksym") takes a raw 8-byte kernel address, such as
// PT_REGS_IP(ctx) in a kprobe, and outputs the name of the symbol that starts
// exactly there. Any other address gives "unknown_addr:0xADDR", as in
// ebpf_exporter. An address outside the core kernel (a module, BPF JIT
// code) rereads kallsyms first when it may be stale. Building it loads kallsyms: an unreadable or hidden one is
// an error then.
type ksymDecoder struct {
	table *kallsyms.Table
}

func newKsym(_ config.Decoder, env *Env) (Decoder, error) {
	table, err := env.loadKallsyms()
	if err != nil {
		return nil, err
	}
	return ksymDecoder{table: table}, nil
}

func (d ksymDecoder) Decode(in []byte) ([]byte, error) {
	if len(in) != 8 {
		return nil, fmt.Errorf("want 8 bytes, got %d", len(in))
	}
	addr := binary.NativeEndian.Uint64(in)
	// The table is loaded, so the only lookup error is kallsyms.ErrNotFound.
	sym, err := d.table.Lookup(addr)
	if err != nil || sym.Offset != 0 {
		return fmt.Appendf(nil, "unknown_addr:0x%x", addr), nil
	}
	return []byte(sym.Name), nil
}
