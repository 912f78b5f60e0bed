package e2e

import (
	"fmt"
	"testing"
)

// exerciseUSDT checks the usdt example: Debian's python3 (an ELF, unlike
// pyenv's shim) runs one collection per generation, each hitting its
// python:gc__start probe.
func exerciseUSDT(t *testing.T, in *instance, before metrics) metrics {
	const fam = "ebpfmon_python_gc_collections_total"
	gen := func(g int) map[string]string { return map[string]string{"generation": fmt.Sprint(g)} }
	ms := in.eventually(t, "a collection of each generation", func() {
		run(t, nil, "/usr/bin/python3", "-c", "import gc; gc.collect(0); gc.collect(1); gc.collect(2)")
	}, func(ms metrics) bool {
		for g := range 3 {
			if ms.sum(fam, gen(g)) <= before.sum(fam, gen(g)) {
				return false
			}
		}
		return true
	})
	for _, v := range ms.labelValues(fam, "generation") {
		if v != "0" && v != "1" && v != "2" {
			t.Errorf("generation %q: python has generations 0, 1 and 2", v)
		}
	}
	return ms
}
