package decoder

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/kallsyms"
)

// ksymDecoder (YAML "ksym") takes a raw 8-byte kernel address, such as
// PT_REGS_IP(ctx) in a kprobe, and outputs the name of the symbol that starts
// exactly there. Any other address gives "unknown_addr:0xADDR", as in
// ebpf_exporter. An unreadable or hidden kallsyms is an error.
type ksymDecoder struct {
	table *kallsyms.Table
}

func newKsym(_ config.Decoder, env *Env) (Decoder, error) {
	return ksymDecoder{table: env.Kallsyms()}, nil
}

func (d ksymDecoder) Decode(in []byte) ([]byte, error) {
	if len(in) != 8 {
		return nil, fmt.Errorf("want 8 bytes, got %d", len(in))
	}
	addr := binary.NativeEndian.Uint64(in)
	sym, err := d.table.Lookup(addr)
	if err != nil && !errors.Is(err, kallsyms.ErrNotFound) {
		return nil, err
	}
	if err != nil || sym.Offset != 0 {
		return fmt.Appendf(nil, "unknown_addr:0x%x", addr), nil
	}
	return []byte(sym.Name), nil
}
