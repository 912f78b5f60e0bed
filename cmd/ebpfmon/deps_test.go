package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// TestNoClientsetInBinary keeps client-go's typed clientset, its informer
// factory and k8s.io/api out of the binary: their schemes register every
// API group and made it 54 MB bigger. The kube package decodes into its own
// types with a scheme of its own.
func TestNoClientsetInBinary(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Unavailable(t, "no go command to list the binary's packages: %v", err)
	}
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	var bad []string
	for pkg := range strings.FieldsSeq(string(out)) {
		for _, banned := range []string{"k8s.io/api/", "k8s.io/client-go/kubernetes", "k8s.io/client-go/informers"} {
			if strings.HasPrefix(pkg, banned) {
				bad = append(bad, pkg)
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("ebpfmon imports %d packages of k8s.io/api or client-go's clientset and informers, such as %s: "+
			"build the kube package's clients from k8s.io/client-go/rest and tools/cache", len(bad), bad[0])
	}
}
