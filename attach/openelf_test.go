package attach

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebpfmon/ebpfmon/internal/regfile"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// TestOpenELFNotRegular gives uprobe targets that are not regular files:
// each is refused at once. A FIFO used to block the open, and with it the
// load of every config, until a writer came.
func TestOpenELFNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo, link := testenv.SpecialFiles(t, dir)
	for _, tc := range []struct{ path, want string }{
		{fifo, "it is a named pipe (FIFO)"},
		{link, "it is a character device"},
		{dir, "it is a directory"},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				f, err := openELF(tc.path)
				if err == nil {
					f.Close()
				}
				done <- err
			}()
			err := <-done // before the fix, the FIFO case blocks here until the test binary's timeout
			if !errors.Is(err, ErrNotELF) || !errors.Is(err, regfile.ErrNotRegular) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("openELF(%s) = %v, want ErrNotELF and %q", tc.path, err, tc.want)
			}
		})
	}
}
