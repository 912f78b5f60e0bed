package decoder_test

import (
	"encoding/binary"
	"fmt"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
)

// A key of struct { char comm[8]; u8 op; u8 pad[3]; u32 errno; }, decoded
// as ebpf_exporter would.
func ExampleLabelSet() {
	env := decoder.NewEnv()
	labels := []config.Label{
		{Name: "comm", Size: 8, Decoders: []config.Decoder{
			{Name: "string"},
			{Name: "regexp", Regexps: []string{`^(kworker)/.*$`, `^.*$`}},
		}},
		{Name: "op", Size: 1, Padding: 3, Decoders: []config.Decoder{
			{Name: "uint"},
			{Name: "static_map", StaticMap: map[string]string{"0": "read", "1": "write"}},
		}},
		{Name: "err", Size: 4, Decoders: []config.Decoder{{Name: "uint"}, {Name: "errno"}}},
	}
	ls, err := decoder.NewLabelSet(labels, env)
	if err != nil {
		panic(err)
	}
	key := []byte("kworker/\x01\x00\x00\x00")
	key = binary.NativeEndian.AppendUint32(key, 2)

	values, err := ls.Decode(key, nil)
	fmt.Println(ls.KeySize(), ls.Names(), values, err)
	// Output: 16 [comm op err] [kworker write ENOENT] <nil>
}
