package config

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/internal/regfile"
)

// TestLoadOnlyRegularFiles gives Load a NAME.yaml that is not a plain file:
// each must be an error naming the config and the file once, never a read
// that blocks (FIFO) or never ends (/dev/zero).
func TestLoadOnlyRegularFiles(t *testing.T) {
	good, err := filepath.Abs("testdata/histogram-exp2.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name+".yaml") }
	symlink := func(target, name string) {
		if err := os.Symlink(target, at(name)); err != nil {
			t.Fatal(err)
		}
	}
	symlink(good, "link")
	symlink("/dev/zero", "zero")
	if err := os.Mkdir(at("dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(at("fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", at("sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	writeFile(t, at("big"), "")
	if err := os.Truncate(at("big"), MaxFileSize+1); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		is   error
		want []string
	}{
		{name: "link"},
		{name: "dir", is: regfile.ErrNotRegular, want: []string{"it is a directory", "must be a regular file"}},
		{name: "fifo", is: regfile.ErrNotRegular, want: []string{"named pipe (FIFO)", "must be a regular file"}},
		{name: "zero", is: regfile.ErrNotRegular, want: []string{"character device"}},
		{name: "sock", is: regfile.ErrNotRegular, want: []string{"it is a socket"}},
		{name: "big", is: regfile.ErrTooLarge, want: []string{"over the limit of 16 MiB", "split it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := loadBounded(t, dir, tc.name)
			if tc.is == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, `config "`+tc.name+`": `) || strings.Count(msg, at(tc.name)) != 1 {
				t.Errorf("err %q: want it to start with the config name and name the file once", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("err %q lacks %q", msg, w)
				}
			}
		})
	}
}

// loadBounded is Load, failing instead of hanging when Load blocks.
func loadBounded(t *testing.T, dir, name string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := Load(dir, name)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("Load(%s) still blocked after 30s", name)
		return nil
	}
}

// spaces is a reader of n spaces: far more than a config may be, like
// /dev/zero, but finite so that a Parse that reads it all still ends.
type spaces struct{ n int }

func (s *spaces) Read(p []byte) (int, error) {
	if s.n == 0 {
		return 0, io.EOF
	}
	p = p[:min(len(p), s.n)]
	for i := range p {
		p[i] = ' '
	}
	s.n -= len(p)
	return len(p), nil
}

func TestParseTooLarge(t *testing.T) {
	_, err := Parse(&spaces{n: 4 * MaxFileSize}, "x.yaml")
	var cerr *Error
	if !errors.As(err, &cerr) || !strings.Contains(err.Error(), "x.yaml: more than 16 MiB") {
		t.Fatalf("err = %v, want a config error about the size", err)
	}
}

func TestCheckName(t *testing.T) {
	for name, want := range map[string]string{
		"timers": "", "ebpf-exporter_1.x": "",
		"": "empty", "a/b": "not a path", "x.yaml": "without .yaml", "..": "not a path", "\x01": "control character",
	} {
		err := CheckName(name)
		if (want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("CheckName(%q) = %v, want %q", name, err, want)
		}
	}
}
