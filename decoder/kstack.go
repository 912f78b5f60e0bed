package decoder

import (
	"encoding/binary"
	"fmt"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/kallsyms"
)

// kstackDecoder (YAML "kstack") takes a raw array of 8-byte kernel addresses,
// such as one filled by bpf_get_stack(), ending at the first zero address or
// at the end of the field. It outputs the name of the symbol containing each
// address, innermost first, joined with "\n". An address in no symbol's
// extent (below every symbol, or past the last symbol of a module, of BPF
// JIT code or of the core kernel, see package kallsyms) gives "??", the
// placeholder ebpf_exporter uses; kallsyms is reread first when it may be
// stale. A size that is not a multiple of 8 is an error. Building it loads
// kallsyms: an unreadable or hidden one is an error then.
type kstackDecoder struct {
	table *kallsyms.Table
}

func newKstack(_ config.Decoder, env *Env) (Decoder, error) {
	table, err := env.loadKallsyms()
	if err != nil {
		return nil, err
	}
	return kstackDecoder{table: table}, nil
}

func (d kstackDecoder) Decode(in []byte) ([]byte, error) {
	if len(in)%8 != 0 {
		return nil, fmt.Errorf("want a multiple of 8 bytes, got %d", len(in))
	}
	var out []byte
	for off := 0; off < len(in); off += 8 {
		addr := binary.NativeEndian.Uint64(in[off:])
		if addr == 0 {
			break
		}
		name := "??"
		// The table is loaded, so the only lookup error is kallsyms.ErrNotFound.
		if sym, err := d.table.Lookup(addr); err == nil {
			name = sym.Name
		}
		if off > 0 {
			out = append(out, '\n')
		}
		out = append(out, name...)
	}
	return out, nil
}
