package regfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular is wrapped by the error for a path that is not a regular
// file (after following symlinks).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by the error for a file over the size limit.
var ErrTooLarge = errors.New("file too large")

// Error is a failed Read. It reads "PATH: PROBLEM" and unwraps to the
// cause, so errors.Is(err, fs.ErrNotExist), ErrNotRegular or ErrTooLarge
// hold.
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string { return e.Path + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Read returns the contents of path, a regular file (or a symlink to one)
// of at most limit bytes; see Open.
func Read(path string, limit int64) ([]byte, error) {
	f, err := Open(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := int64(0)
	if info, err := f.Stat(); err == nil {
		size = info.Size()
	}
	data, err := readAll(section(f, limit), min(size, limit)+1)
	if err := finish(path, int64(len(data)), limit, err); err != nil {
		return nil, err
	}
	return data, nil
}

// Copy writes path, a regular file (or a symlink to one) of at most limit
// bytes, to w as Read reads it, without holding it in memory.
func Copy(w io.Writer, path string, limit int64) error {
	f, err := Open(path, limit)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, section(f, limit))
	return finish(path, n, limit, err)
}

// section reads f from its start. The size can grow after the check, or
// be 0 for a file in /proc: it reads one byte more than allowed to notice.
// Positioned reads (pread), unlike read, never wait in Go's poller: a
// kernel file that is regular to stat but a stream to read (/proc/kmsg,
// trace_pipe) fails at once with EAGAIN or ESPIPE instead of waiting for
// data.
func section(f *os.File, limit int64) io.Reader { return io.NewSectionReader(f, 0, limit+1) }

// finish turns how a read of n bytes of path through section ended into
// its error, if any.
func finish(path string, n, limit int64, err error) error {
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.ESPIPE) {
		err = fmt.Errorf("%w: it is a stream (such as /proc/kmsg or trace_pipe) that cannot be read from its start without waiting", ErrNotRegular)
	}
	if err != nil {
		return &Error{Path: path, Err: cause(err)}
	}
	if n > limit {
		return &Error{Path: path, Err: tooLarge(n, limit, " or more")}
	}
	return nil
}

// readAll is io.ReadAll starting with a buffer of size bytes, the file's
// size plus one (to see the end): a file read whole costs its size once,
// where io.ReadAll's doubling peaks at about twice it.
func readAll(r io.Reader, size int64) ([]byte, error) {
	data := make([]byte, 0, size)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return data, err
		}
	}
}

// Open opens path, a regular file (or a symlink to one) of at most limit
// bytes, for reading; the caller closes it. It refuses anything else
// before reading: the type is checked on the path, so a FIFO or a device
// is never opened, and again on the opened descriptor, in case the path
// was swapped between the two; the open is non-blocking, so even then it
// cannot hang.
func Open(path string, limit int64) (*os.File, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, &Error{Path: path, Err: cause(err)}
	}
	if err := check(info, limit); err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, &Error{Path: path, Err: cause(err)}
	}
	if info, err = f.Stat(); err == nil {
		err = check(info, limit)
	}
	if err != nil {
		f.Close()
		return nil, &Error{Path: path, Err: cause(err)}
	}
	return f, nil
}

// check refuses what is not a regular file of at most limit bytes.
func check(info fs.FileInfo, limit int64) error {
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%w: it is %s", ErrNotRegular, kind(info.Mode()))
	}
	if info.Size() > limit {
		return tooLarge(info.Size(), limit, "")
	}
	return nil
}

func tooLarge(size, limit int64, qualifier string) error {
	return fmt.Errorf("%w: %s%s, over the limit of %s", ErrTooLarge, Size(size), qualifier, Size(limit))
}

// kind names a file type that is not a regular file.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file (" + m.Type().String() + ")"
}

// cause drops the operation and path from an *fs.PathError: Error already
// names the path once.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Size formats a byte count for messages: "16 MiB", "1.5 KiB", "12 bytes".
func Size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	value, suffix := float64(n)/unit, "KiB"
	for _, s := range []string{"MiB", "GiB", "TiB"} {
		if value < unit {
			break
		}
		value, suffix = value/unit, s
	}
	return fmt.Sprintf("%.4g %s", value, suffix)
}
