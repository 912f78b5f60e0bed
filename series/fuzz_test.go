package series

import (
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
)

// sliceSource is a recordSource giving records from a slice, then closed.
type sliceSource struct{ recs [][]byte }

func (s *sliceSource) next() ([]byte, uint64, error) {
	if len(s.recs) == 0 {
		return nil, 0, os.ErrClosed
	}
	r := s.recs[0]
	s.recs = s.recs[1:]
	return r, 0, nil
}

func (s *sliceSource) Close() error { return nil }

// fuzzEventLabels are the label layouts of FuzzEventRecords: the shapes
// the bundled examples send (a comm and a pid, an errno and a syscall, a
// comm kept by a regexp and its bytes as hex, an address and a port named
// by a static_map, a DNS name).
func fuzzEventLabels() [][]config.Label {
	u := func(next ...config.Decoder) []config.Decoder {
		return append([]config.Decoder{{Name: "uint"}}, next...)
	}
	str := []config.Decoder{{Name: "string"}}
	return [][]config.Label{
		{{Name: "comm", Size: 16, Decoders: str}, {Name: "pid", Size: 4, Decoders: u()}},
		{{Name: "err", Size: 4, Padding: 4, Decoders: u(config.Decoder{Name: "errno"})},
			{Name: "syscall", Size: 8, Decoders: u(config.Decoder{Name: "syscall"})}},
		{{Name: "comm", Size: 8, Decoders: append(str, config.Decoder{Name: "regexp", Regexps: []string{`^(k[a-z]+)`, `^bash$`}})},
			{Name: "raw", BytesOf: "comm", Decoders: []config.Decoder{{Name: "hex"}}}},
		{{Name: "addr", Size: 4, Decoders: []config.Decoder{{Name: "inet_ip"}}},
			{Name: "port", Size: 2, Padding: 2, Decoders: u(config.Decoder{Name: "static_map", StaticMap: config.StaticMap{"22": "ssh", "443": "https"}})}},
		{{Name: "qname", Size: 12, Decoders: []config.Decoder{{Name: "dname"}}}},
	}
}

// splitRecords cuts data into records: a length byte (mod 40), then that
// many bytes (fewer at the end).
func splitRecords(data []byte) [][]byte {
	var recs [][]byte
	for len(data) > 0 {
		n := min(int(data[0]%40), len(data)-1)
		recs = append(recs, data[1:1+n])
		data = data[1+n:]
	}
	return recs
}

// eventWant is what counting records should export, worked out by
// decoding every record on its own.
type eventWant struct {
	counts map[string]uint64 // label values joined by "\xff"
	errors int
	over   int // 1 once the overflow series has a count
}

func wantEvents(ls *decoder.LabelSet, recs [][]byte, maxSeries int) eventWant {
	w := eventWant{counts: map[string]uint64{}}
	for _, rec := range recs {
		if len(rec) == 0 {
			continue // the reader drops empty records
		}
		key := rec[:min(len(rec), ls.KeySize())]
		if len(key) < ls.KeySize() {
			w.errors++
			continue
		}
		values, err := ls.Decode(key, nil)
		switch {
		case errors.Is(err, decoder.ErrSkipLabelSet):
			continue
		case err != nil:
			w.errors++
			continue
		}
		id := strings.Join(values, "\xff")
		if _, ok := w.counts[id]; !ok && (maxSeries > 0 && len(w.counts)-w.over >= maxSeries || isOverflow(values)) {
			id = strings.Join(slices.Repeat([]string{OverflowValue}, len(values)), "\xff")
			if _, ok := w.counts[id]; !ok {
				w.over = 1
			}
		}
		w.counts[id]++
	}
	return w
}

// FuzzEventRecords sends arbitrary records through an event counter's
// reader, queue and decoder, with the label layouts of real event
// counters, and checks the exported counts against each record decoded on
// its own: the raw key cache, the truncation of padded records and the
// series bound change nothing but speed. Every series has every label,
// valid UTF-8; short and undecodable records are counted as decode
// errors; records of label sets past the series bound (or whose values are
// all __overflow__) count in the one overflow series, none is lost.
func FuzzEventRecords(f *testing.F) {
	comm := func(s string, n int) []byte { return append([]byte(s), make([]byte, n-len(s))...) }
	seed := func(recs ...[]byte) []byte {
		var out []byte
		for _, r := range recs {
			out = append(out, byte(len(r)))
			out = append(out, r...)
		}
		return out
	}
	pid := []byte{0x39, 0x30, 0, 0}
	f.Add(uint8(0), uint8(0), seed(append(comm("bash", 16), pid...), append(comm("bash", 16), pid...), comm("sshd", 16)))
	f.Add(uint8(1), uint8(1), seed([]byte{2, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0, 0, 0, 0, 0, 0}, []byte{13, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 9, 9}))
	f.Add(uint8(2), uint8(2), seed(comm("kswapd0", 8), comm("bash", 8), comm("cron", 8), comm("kworker", 8)))
	f.Add(uint8(3), uint8(0), seed([]byte{10, 0, 0, 1, 22, 0, 0, 0}, []byte{127, 0, 0, 1, 0xbb, 1, 0, 0}, []byte{192, 168, 1, 1, 80, 0, 0, 0, 0xff}))
	f.Add(uint8(4), uint8(3), seed([]byte("\x07example\x03com"), []byte("\x05\xff\xfe\x00"), []byte("\x3fxx")))
	layouts := fuzzEventLabels()
	env := decoder.NewEnv(decoder.WithSyscallArch("amd64"))
	sets := make([]*decoder.LabelSet, len(layouts))
	for i, labels := range layouts {
		ls, err := decoder.NewLabelSet(labels, env)
		if err != nil {
			f.Fatalf("layout %d: %v", i, err)
		}
		sets[i] = ls
	}
	f.Fuzz(func(t *testing.T, layout, bound uint8, data []byte) {
		ls := sets[int(layout)%len(sets)]
		recs := splitRecords(data)
		maxSeries := int(bound % 5) // 0: no bound
		want := wantEvents(ls, recs, maxSeries)
		e := &EventCounter{name: "ev", fullName: "t_ev", help: "h", names: ls.Names(), labels: ls,
			keySize: ls.KeySize(), maxSeries: maxSeries, flush: time.Hour, flushed: time.Now(),
			src: &sliceSource{recs: recs}, log: slog.New(slog.DiscardHandler)}
		e.start(len(recs) + 1) // room for every record: none dropped
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		fam, st, err := e.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]uint64{}
		for _, m := range fam.Metric {
			byName := map[string]string{}
			for _, lp := range m.Label {
				if !utf8.ValidString(lp.GetValue()) {
					t.Fatalf("label %s=%q is not valid UTF-8", lp.GetName(), lp.GetValue())
				}
				byName[lp.GetName()] = lp.GetValue()
			}
			values := make([]string, 0, len(e.names))
			for _, n := range e.names {
				v, ok := byName[n]
				if !ok {
					t.Fatalf("series %v lacks label %s", byName, n)
				}
				values = append(values, v)
			}
			if len(byName) != len(e.names) {
				t.Fatalf("series %v, want labels %v", byName, e.names)
			}
			got[strings.Join(values, "\xff")] = uint64(m.Counter.GetValue())
		}
		if len(got) != len(want.counts) {
			t.Fatalf("%d series %v, want %d: %v", len(got), got, len(want.counts), want.counts)
		}
		for id, n := range want.counts {
			if got[id] != n {
				t.Fatalf("series %q counted %d, want %d (all: %v)", id, got[id], n, got)
			}
		}
		if st.DecodeErrors != want.errors || (st.FirstErr == nil) != (want.errors == 0) {
			t.Fatalf("%d decode errors (first %v), want %d", st.DecodeErrors, st.FirstErr, want.errors)
		}
		if lost := e.LostTotal(); lost != 0 || e.dropped.Load() != 0 {
			t.Fatalf("lost %d (queue dropped %d), want none: records past the series bound fold", lost, e.dropped.Load())
		}
	})
}
