package decoder

import (
	"slices"
	"testing"
)

func BenchmarkLabelSetDecode(b *testing.B) {
	ls, err := NewLabelSet(bioLabels(), testEnv(b))
	if err != nil {
		b.Fatal(err)
	}
	key := slices.Concat(mkdev(8, 1), []byte{1, 0, 0, 0}, u64(7))
	out := make([]string, 0, 3)
	b.ReportAllocs()
	for b.Loop() {
		if out, err = ls.Decode(key, out[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKstackDecode(b *testing.B) {
	chain, err := NewChain(one("kstack"), testEnv(b))
	if err != nil {
		b.Fatal(err)
	}
	in := u64s(0xffffffff81001010, 0xffffffff81000123, 0xffffffff81000810, 0xffffffffc0002001, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := chain.Decode(in); err != nil {
			b.Fatal(err)
		}
	}
}
