package kallsyms

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultPath is where the kernel publishes its symbol table.
const DefaultPath = "/proc/kallsyms"

// ErrAddressesHidden is returned when every address in the table is zero,
// which is what the kernel shows to readers it does not trust.
var ErrAddressesHidden = errors.New("kallsyms: addresses are hidden (need CAP_SYSLOG, kernel.kptr_restrict)")

// ErrNotFound is returned when no symbol matches an address or a name.
var ErrNotFound = errors.New("kallsyms: symbol not found")

// Symbol is the result of an address lookup.
type Symbol struct {
	// Name is the symbol name, without the module suffix.
	Name string
	// Module is what kallsyms names in brackets after the symbol: a
	// module, "bpf" for BPF JIT code, "__builtin__ftrace"...; "" for the
	// core kernel.
	Module string
	// Addr is the start address of the symbol.
	Addr uint64
	// Offset is how far the looked-up address is past Addr.
	Offset uint64
}

// DefaultMinRefresh is the least time between two rereads of the table.
const DefaultMinRefresh = 10 * time.Second

// Table is a kernel symbol table. Create one with [New] (lazy, from a file,
// reread when it may be stale) or [Parse] (eager, from a reader, fixed). It
// is safe for concurrent use.
type Table struct {
	path        string
	modulesPath string
	minRefresh  time.Duration
	now         func() time.Time

	syms atomic.Pointer[symbols]

	mu        sync.Mutex // guards the fields below and every read of the files
	loaded    bool
	loadErr   error
	file      *os.File // kallsyms, kept open for rereads
	modules   *os.File // /proc/modules, nil if it could not be opened
	readAt    time.Time
	rereads   int
	rereadErr error
}

// Option configures a Table made by [New].
type Option func(*Table)

// WithModules reads module memory ranges from path instead of the
// "modules" file beside the kallsyms file; "" reads none.
func WithModules(path string) Option { return func(t *Table) { t.modulesPath = path } }

// WithMinRefresh sets the least time between two rereads instead of
// [DefaultMinRefresh].
func WithMinRefresh(d time.Duration) Option { return func(t *Table) { t.minRefresh = d } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(t *Table) { t.now = now } }

// New returns a Table that reads path (usually [DefaultPath]) on its first
// use, and module ranges from the "modules" file beside it when there is
// one (/proc/modules). A reading or parsing error of that first read is
// returned by every lookup.
//
// The files stay open, so that the table can be reread after the process
// has dropped its capabilities: the kernel decides whether a reader sees
// addresses when the file is opened (Linux 5.8 and later), not when it is
// read. [Table.Lookup] rereads them when the answer may be stale: see
// there.
func New(path string, opts ...Option) *Table {
	t := &Table{
		path:        path,
		modulesPath: filepath.Join(filepath.Dir(path), "modules"),
		minRefresh:  DefaultMinRefresh,
		now:         time.Now,
	}
	for _, opt := range opts {
		opt(t)
	}
	return t
}

// Parse reads a whole kallsyms-format stream, one "ADDR TYPE NAME" line per
// symbol, optionally followed by a tab and "[module]". The table is never
// reread.
func Parse(r io.Reader) (*Table, error) {
	syms, err := parse(r, nil)
	if err != nil {
		return nil, err
	}
	t := &Table{loaded: true, now: time.Now}
	t.syms.Store(syms)
	return t, nil
}

// Path returns the file a Table made by [New] reads.
func (t *Table) Path() string { return t.path }

// Len returns the number of symbols, loading the table if needed.
func (t *Table) Len() (int, error) {
	syms, err := t.symbols()
	if err != nil {
		return 0, err
	}
	return len(syms.entries), nil
}

// Lookup returns the symbol that contains addr: the one with the highest
// start address not above addr (the first in file order when several share
// it), if addr is within its extent. kallsyms has no sizes: a symbol
// extends to the next symbol when that one continues its run (text or
// data of the same module, of BPF JIT code or of the core kernel), else at
// most to its module's end from /proc/modules, or [MaxTail] bytes. Other
// addresses return an error wrapping [ErrNotFound].
//
// Module and BPF symbols come and go, so when addr is not in the core
// kernel the table is reread first if it may be stale: always the first
// time, then at most once per minimum refresh interval. A failed reread
// keeps the previous table; see [Table.RereadErr].
func (t *Table) Lookup(addr uint64) (Symbol, error) {
	syms, err := t.symbols()
	if err != nil {
		return Symbol{}, err
	}
	sym, ok := syms.find(addr)
	if !ok || sym.Module != "" {
		t.reread()
		if fresh := t.syms.Load(); fresh != syms {
			sym, ok = fresh.find(addr)
		}
	}
	if !ok {
		return Symbol{}, fmt.Errorf("address 0x%x: %w", addr, ErrNotFound)
	}
	return sym, nil
}

// RereadErr returns the error of the last reread, nil if it succeeded or
// there was none.
func (t *Table) RereadErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rereadErr
}

// Close closes the files a Table made by [New] keeps open. Lookups still
// answer from the last table read, which is no longer reread.
func (t *Table) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for _, f := range []*os.File{t.file, t.modules} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	t.file, t.modules = nil, nil
	return errors.Join(errs...)
}

// Address returns the lowest address of a symbol called name. It scans the
// whole table: it is meant for start-up, not for every scrape.
func (t *Table) Address(name string) (uint64, error) {
	syms, err := t.symbols()
	if err != nil {
		return 0, err
	}
	for _, e := range syms.entries { // sorted, so the first match is the lowest
		if syms.name(e) == name {
			return e.addr, nil
		}
	}
	return 0, fmt.Errorf("%q: %w", name, ErrNotFound)
}

// symbols returns the current table, reading the files the first time.
func (t *Table) symbols() (*symbols, error) {
	if syms := t.syms.Load(); syms != nil {
		return syms, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.loaded {
		t.loaded = true
		t.loadErr = t.open()
	}
	if t.loadErr != nil {
		return nil, t.loadErr
	}
	return t.syms.Load(), nil
}

// open opens the files, keeps them open and reads them. Called once, with
// t.mu held.
func (t *Table) open() error {
	f, err := os.Open(t.path)
	if err != nil {
		return fmt.Errorf("kallsyms: %w", err)
	}
	if t.modulesPath != "" {
		// Optional: a kernel without modules has none; the bounds then
		// fall back to MaxTail.
		t.modules, _ = os.Open(t.modulesPath)
	}
	t.file = f
	syms, err := t.read()
	if err != nil {
		t.file.Close()
		if t.modules != nil {
			t.modules.Close()
		}
		t.file, t.modules = nil, nil
		return err
	}
	t.syms.Store(syms)
	t.readAt = t.now()
	return nil
}

// reread reads the files again, unless the table was reread less than
// minRefresh ago, or cannot be. It takes t.mu: concurrent callers wait for
// one reread and then find the table fresh.
func (t *Table) reread() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.file == nil || t.rereads > 0 && t.now().Sub(t.readAt) < t.minRefresh {
		return
	}
	t.rereads++
	syms, err := t.read()
	t.readAt = t.now()
	t.rereadErr = err
	if err == nil {
		t.syms.Store(syms)
	}
}

// read parses the open files from their start, with t.mu held.
func (t *Table) read() (*symbols, error) {
	var modules map[string]region
	if t.modules != nil {
		if _, err := t.modules.Seek(0, io.SeekStart); err == nil {
			modules = parseModules(t.modules)
		}
	}
	if _, err := t.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("kallsyms: %w", err)
	}
	syms, err := parse(t.file, modules)
	if err != nil {
		return nil, fmt.Errorf("%w (reading %s)", err, t.path)
	}
	return syms, nil
}
