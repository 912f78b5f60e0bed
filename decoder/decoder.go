package decoder

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/ebpfmon/ebpfmon/config"
)

// Decoder turns one label's input into its output. The first decoder of a
// chain gets the raw key field (kernel bytes in host byte order, which is
// little-endian on amd64 and arm64); each later one gets the previous
// decoder's output.
//
// Decode must not modify in and must be safe for concurrent use; its output
// may alias in.
type Decoder interface {
	Decode(in []byte) ([]byte, error)
}

// ErrSkipLabelSet is returned when a decoder asks for the whole label set
// (the map entry) to be left out of the metric, e.g. a regexp that matched
// nothing. It is not counted as a decoder error.
var ErrSkipLabelSet = errors.New("label set skipped by decoder")

// options says which optional config.Decoder fields a decoder accepts.
type options uint8

const (
	optStaticMap options = 1 << iota
	optAllowUnknown
	optRegexps
)

// constructor builds a decoder from its validated config.
type constructor func(conf config.Decoder, env *Env) (Decoder, error)

type entry struct {
	build constructor
	opts  options
	// raw checks the key field size when the decoder is first in a chain;
	// nil takes any size.
	raw rawInput
}

// rawInput checks the size of the raw key field a chain's first decoder
// gets. Its error completes "decoder NAME ...".
type rawInput func(size uint) error

// sizes takes the raw sizes ok accepts, described by text ("4 or 16 bytes").
func sizes(text string, ok func(size uint) bool) rawInput {
	return func(size uint) error {
		if ok(size) {
			return nil
		}
		return fmt.Errorf("takes %s, the label has %d (fix size or use hex/string)", text, size)
	}
}

// oneOf accepts exactly the listed sizes.
func oneOf(want ...uint) func(uint) bool {
	return func(size uint) bool { return slices.Contains(want, size) }
}

// decimalText rejects raw input: the decoder parses the decimal text an
// earlier decoder outputs.
func decimalText(uint) error {
	return errors.New("takes decimal text, not raw key bytes (put uint before it)")
}

// registry lists every decoder by its YAML name, with the options it takes
// and the raw key field sizes it decodes when first in a chain.
func registry() map[string]entry {
	return map[string]entry{
		"cgroup":       {build: newCgroup, raw: decimalText},
		"dname":        {build: newDname},
		"errno":        {build: newErrno, raw: decimalText},
		"hex":          {build: newHex},
		"ifname":       {build: newIfname, raw: sizes("4 bytes", oneOf(4))},
		"inet_ip":      {build: newInetIP, raw: sizes("4 or 16 bytes", oneOf(4, 16))},
		"kstack":       {build: newKstack, raw: sizes("a multiple of 8 bytes", func(n uint) bool { return n%8 == 0 })},
		"ksym":         {build: newKsym, raw: sizes("8 bytes", oneOf(8))},
		"majorminor":   {build: newMajorMinor, raw: sizes("4 bytes", oneOf(4))},
		"pci_class":    {build: newPCIClass, raw: decimalText},
		"pci_device":   {build: newPCIDevice, raw: decimalText},
		"pci_subclass": {build: newPCISubclass, raw: decimalText},
		"pci_vendor":   {build: newPCIVendor, raw: decimalText},
		"regexp":       {build: newRegexp, opts: optRegexps},
		"static_map":   {build: newStaticMap, opts: optStaticMap | optAllowUnknown},
		"string":       {build: newString},
		"syscall":      {build: newSyscall, raw: decimalText},
		"uint":         {build: newUint, raw: sizes("1, 2, 4 or 8 bytes", oneOf(1, 2, 4, 8))},
	}
}

// Names returns the names of all known decoders, sorted.
func Names() []string {
	return slices.Sorted(maps.Keys(registry()))
}

// New builds the decoder named conf.Name, checking and compiling its options.
// env supplies system lookups and must not be nil.
func New(conf config.Decoder, env *Env) (Decoder, error) {
	e, ok := registry()[conf.Name]
	if !ok {
		return nil, fmt.Errorf("unknown decoder %q, want one of %s", conf.Name, strings.Join(Names(), "|"))
	}
	if env == nil {
		return nil, fmt.Errorf("decoder %q: nil Env", conf.Name)
	}
	if err := checkOptions(conf, e.opts); err != nil {
		return nil, fmt.Errorf("decoder %q: %w", conf.Name, err)
	}
	d, err := e.build(conf, env)
	if err != nil {
		return nil, fmt.Errorf("decoder %q: %w", conf.Name, err)
	}
	return named{name: conf.Name, d: d}, nil
}

// checkOptions rejects options a decoder does not use, so that a misplaced
// option is a config error rather than silently ignored.
func checkOptions(conf config.Decoder, allowed options) error {
	var bad []string
	if conf.StaticMap != nil && allowed&optStaticMap == 0 {
		bad = append(bad, "static_map")
	}
	if conf.AllowUnknown && allowed&optAllowUnknown == 0 {
		bad = append(bad, "allow_unknown")
	}
	if conf.Regexps != nil && allowed&optRegexps == 0 {
		bad = append(bad, "regexps")
	}
	if len(bad) > 0 {
		return fmt.Errorf("option %s not supported", strings.Join(bad, ", "))
	}
	return nil
}

// named prefixes a decoder's errors with its name.
type named struct {
	name string
	d    Decoder
}

func (n named) Decode(in []byte) ([]byte, error) {
	out, err := n.d.Decode(in)
	if err != nil && !errors.Is(err, ErrSkipLabelSet) {
		return nil, fmt.Errorf("%s: %w", n.name, err)
	}
	return out, err
}

// Chain is a label's decoders, applied in order.
type Chain []Decoder

// NewChain builds one decoder per config entry. It does not check what the
// first decoder will be given; [NewLabelSet] checks that against the label
// size.
func NewChain(confs []config.Decoder, env *Env) (Chain, error) {
	chain := make(Chain, 0, len(confs))
	for i, conf := range confs {
		d, err := New(conf, env)
		if err != nil {
			return nil, fmt.Errorf("decoders[%d]: %w", i, err)
		}
		chain = append(chain, d)
	}
	return chain, nil
}

// Decode runs in through every decoder and returns the result as valid UTF-8:
// invalid sequences, which untrusted kernel bytes may contain, become U+FFFD.
// An empty chain returns the sanitised input.
func (c Chain) Decode(in []byte) (string, error) {
	out := in
	for _, d := range c {
		var err error
		if out, err = d.Decode(out); err != nil {
			return "", err
		}
	}
	return strings.ToValidUTF8(string(out), "\uFFFD"), nil
}

// parseText parses decimal text, the output of the uint decoder, as the
// input of text-number decoders.
func parseText(in []byte) (uint64, error) {
	v, err := strconv.ParseUint(string(in), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want a decimal number, got %q", in)
	}
	return v, nil
}

// checkRaw checks that a chain's first decoder takes a raw key field of size
// bytes. An unknown decoder passes: [New] reports it.
func checkRaw(confs []config.Decoder, size uint) error {
	if len(confs) == 0 {
		return nil
	}
	e, ok := registry()[confs[0].Name]
	if !ok || e.raw == nil {
		return nil
	}
	if err := e.raw(size); err != nil {
		return fmt.Errorf("decoder %s %w", confs[0].Name, err)
	}
	return nil
}
