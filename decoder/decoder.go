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
	optNotPod
	optUnknownPeer
	optEnum
)

// constructor builds a decoder from its validated config.
type constructor func(conf config.Decoder, env *Env) (Decoder, error)

// form is what a decoder is given or outputs: the raw key field, decimal
// text (what uint outputs), a cgroup path (what cgroup outputs), an IP
// address as text (what inet_ip outputs), or any other text.
type form uint8

const (
	formRaw form = iota
	formDecimal
	formText
	formCgroupPath
	formIPText
)

// describe names a form for error messages.
func (f form) describe() string {
	switch f {
	case formRaw:
		return "raw key bytes"
	case formDecimal:
		return "decimal text"
	case formCgroupPath:
		return "a cgroup path"
	case formIPText:
		return "an IP address as text"
	}
	return "text"
}

type entry struct {
	build constructor
	opts  options
	// raw checks the key field size when the decoder is first in a chain;
	// nil takes any size.
	raw rawInput
	// text is what a decoder later in a chain takes: nothing (formRaw),
	// decimal text only, any text, or a cgroup path or an IP address
	// (any text but the other specific forms, decimal text included: those
	// would decode to nothing, or fail, for every key).
	text form
	// out is the form of the output given the input; nil means formText.
	out func(conf config.Decoder, in form) form
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

// textOnly rejects raw input: the decoder works on text, and raw bytes
// would give labels with NUL bytes or binary in them.
func textOnly(uint) error {
	return errors.New("takes text, not raw key bytes (put uint or string before it)")
}

// cgroupPath rejects raw input: pod decoders take a cgroup path.
func cgroupPath(uint) error {
	return errors.New("takes a cgroup path, not raw key bytes (put uint and cgroup before it)")
}

// ipText rejects raw input: peer_pod takes an address as text.
func ipText(uint) error {
	return errors.New("takes an IP address as text, not raw key bytes (put inet_ip before it)")
}

// decimal is the output form of uint.
func decimal(config.Decoder, form) form { return formDecimal }

// cgroupOut is the output form of cgroup.
func cgroupOut(config.Decoder, form) form { return formCgroupPath }

// ipOut is the output form of inet_ip.
func ipOut(config.Decoder, form) form { return formIPText }

// same passes the input form through (string on text changes nothing).
func same(_ config.Decoder, in form) form {
	if in == formRaw {
		return formText
	}
	return in
}

// staticMapOut is decimal text only when every output is: every value is
// a decimal number and unknown decimal input passes through unchanged.
func staticMapOut(conf config.Decoder, in form) form {
	if in != formDecimal || !conf.AllowUnknown {
		return formText
	}
	for _, v := range conf.StaticMap {
		if _, err := strconv.ParseUint(v, 10, 64); err != nil {
			return formText
		}
	}
	return formDecimal
}

// registry lists every decoder by its YAML name, with the options it takes,
// the raw key field sizes it decodes when first in a chain, the text it
// takes later in a chain and the form of its output.
func registry() map[string]entry {
	return map[string]entry{
		"btf_enum":      {build: newBTFEnum, opts: optEnum, raw: decimalText, text: formDecimal},
		"cgroup":        {build: newCgroup, raw: decimalText, text: formDecimal, out: cgroupOut},
		"container":     {build: newContainer, opts: optNotPod, raw: cgroupPath, text: formCgroupPath},
		"dname":         {build: newDname, text: formText},
		"errno":         {build: newErrno, raw: decimalText, text: formDecimal},
		"hex":           {build: newHex, text: formText},
		"ifname":        {build: newIfname, raw: sizes("4 bytes", oneOf(4))},
		"inet_ip":       {build: newInetIP, raw: sizes("4 or 16 bytes", oneOf(4, 16)), out: ipOut},
		"kstack":        {build: newKstack, raw: sizes("a multiple of 8 bytes", func(n uint) bool { return n%8 == 0 })},
		"ksym":          {build: newKsym, raw: sizes("8 bytes", oneOf(8))},
		"majorminor":    {build: newMajorMinor, raw: sizes("4 bytes", oneOf(4))},
		"peer_pod":      {build: newPeerPod, opts: optUnknownPeer, raw: ipText, text: formIPText},
		"pod":           {build: newPod, opts: optNotPod, raw: cgroupPath, text: formCgroupPath},
		"pod_namespace": {build: newPodNamespace, opts: optNotPod, raw: cgroupPath, text: formCgroupPath},
		"pci_class":     {build: newPCIClass, raw: decimalText, text: formDecimal},
		"pci_device":    {build: newPCIDevice, raw: decimalText, text: formDecimal},
		"pci_subclass":  {build: newPCISubclass, raw: decimalText, text: formDecimal},
		"pci_vendor":    {build: newPCIVendor, raw: decimalText, text: formDecimal},
		"regexp":        {build: newRegexp, opts: optRegexps, raw: textOnly, text: formText},
		"static_map":    {build: newStaticMap, opts: optStaticMap | optAllowUnknown, raw: textOnly, text: formText, out: staticMapOut},
		"string":        {build: newString, text: formText, out: same},
		"syscall":       {build: newSyscall, raw: decimalText, text: formDecimal},
		"uint":          {build: newUint, raw: sizes("1, 2, 4 or 8 bytes", oneOf(1, 2, 4, 8)), out: decimal},
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
	if conf.NotPod != "" && allowed&optNotPod == 0 {
		bad = append(bad, "not_pod")
	}
	if conf.UnknownPeer != "" && allowed&optUnknownPeer == 0 {
		bad = append(bad, "unknown_peer")
	}
	if conf.Enum != "" && allowed&optEnum == 0 {
		bad = append(bad, "enum")
	}
	if conf.StripPrefix != "" && allowed&optEnum == 0 {
		bad = append(bad, "strip_prefix")
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

// checkChain follows the form of the data through a label's chain, from
// the raw key field of size bytes, and rejects a step that cannot take
// what the step before outputs: uint after uint (it would read the digits
// as bytes), errno on raw bytes, static_map on raw bytes. An unknown
// decoder ends the check: [New] reports it.
func checkChain(confs []config.Decoder, size uint) error {
	in := formRaw
	for i, conf := range confs {
		e, ok := registry()[conf.Name]
		if !ok {
			return nil
		}
		if in == formRaw {
			if e.raw != nil {
				if err := e.raw(size); err != nil {
					return fmt.Errorf("decoder %s %w", conf.Name, err)
				}
			}
		} else if want, fix := e.takes(conf.Name, in); want != "" {
			return fmt.Errorf("decoders[%d] %s takes %s, but decoders[%d] %s outputs %s (%s)",
				i, conf.Name, want, i-1, confs[i-1].Name, in.describe(), fix)
		}
		if e.out == nil {
			in = formText
		} else {
			in = e.out(conf, in)
		}
	}
	return nil
}

// takes checks that the decoder name, later in a chain, can take text of
// form in. If not, it returns what the decoder wants and how to fix the
// chain.
func (e entry) takes(name string, in form) (want, fix string) {
	switch {
	case e.text == formRaw:
		return formRaw.describe(), "put it first in the chain"
	case e.text == formDecimal && in != formDecimal:
		return formDecimal.describe(), "put uint before it, first in the chain"
	case e.text == formCgroupPath && (in == formDecimal || in == formIPText):
		return formCgroupPath.describe(), "put {name: cgroup} before " + name
	case e.text == formIPText && (in == formDecimal || in == formCgroupPath):
		return formIPText.describe(), "put {name: inet_ip} before " + name
	}
	return "", ""
}
