package decoder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/ebpfmon/ebpfmon/cgroup"
	"github.com/ebpfmon/ebpfmon/kallsyms"
)

// Env holds the system lookups decoders share: the kernel symbol table, the
// cgroup resolver, the pci.ids database and the block device names. Create
// one per process with [NewEnv] and pass it to every [New]; each lookup is
// initialised on first use, so an Env costs nothing until a decoder needs
// it. An Env is safe for concurrent use.
type Env struct {
	procRoot    string
	sysRoot     string
	pciIDsPaths []string
	cgroupRoot  string
	syscallArch string

	ksyms   *kallsyms.Table
	cgroups func() (*cgroup.Resolver, error)
	pci     func() (*pciDB, error)
}

// Option configures an [Env].
type Option func(*Env)

// WithProcRoot reads kallsyms, partitions and self/mountinfo under dir
// instead of /proc.
func WithProcRoot(dir string) Option { return func(e *Env) { e.procRoot = dir } }

// WithSysRoot reads dev/block under dir instead of /sys.
func WithSysRoot(dir string) Option { return func(e *Env) { e.sysRoot = dir } }

// WithPCIIDs tries the given pci.ids files, in order, instead of
// /usr/share/misc/pci.ids then /usr/share/hwdata/pci.ids.
func WithPCIIDs(paths ...string) Option {
	return func(e *Env) { e.pciIDsPaths = paths }
}

// WithCgroupRoot resolves cgroup ids under dir instead of the cgroup2 mount
// found in mountinfo.
func WithCgroupRoot(dir string) Option { return func(e *Env) { e.cgroupRoot = dir } }

// WithSyscallArch selects the syscall table by GOARCH name ("amd64" or
// "arm64") instead of runtime.GOARCH.
func WithSyscallArch(goarch string) Option { return func(e *Env) { e.syscallArch = goarch } }

// NewEnv returns an Env reading the real system (/proc, /sys, the cgroup2
// mount, the system pci.ids), changed by opts.
func NewEnv(opts ...Option) *Env {
	e := &Env{
		procRoot:    "/proc",
		sysRoot:     "/sys",
		pciIDsPaths: []string{"/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"},
		syscallArch: runtime.GOARCH,
	}
	for _, opt := range opts {
		opt(e)
	}
	e.ksyms = kallsyms.New(filepath.Join(e.procRoot, "kallsyms"))
	e.cgroups = sync.OnceValues(e.newCgroupResolver)
	e.pci = sync.OnceValues(e.loadPCIDB)
	return e
}

// Kallsyms returns the kernel symbol table, read on its first lookup.
func (e *Env) Kallsyms() *kallsyms.Table { return e.ksyms }

// Cgroups returns the cgroup id resolver, locating the hierarchy on the
// first call.
func (e *Env) Cgroups() (*cgroup.Resolver, error) { return e.cgroups() }

func (e *Env) newCgroupResolver() (*cgroup.Resolver, error) {
	root := e.cgroupRoot
	if root == "" {
		r, err := cgroup.FindRoot(filepath.Join(e.procRoot, "self", "mountinfo"))
		if err != nil {
			return nil, err
		}
		root = r.Path
	}
	return cgroup.NewResolver(root, cgroup.DefaultMinRefresh), nil
}

// loadPCIDB parses the first pci.ids that exists. None existing is not an
// error: it yields a nil database, and the pci decoders say so in their
// output, like ebpf_exporter.
func (e *Env) loadPCIDB() (*pciDB, error) {
	for _, path := range e.pciIDsPaths {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("pci.ids: %w", err)
		}
		defer f.Close()
		db, err := parsePCIIDs(f)
		if err != nil {
			return nil, fmt.Errorf("pci.ids: %s: %w", path, err)
		}
		return db, nil
	}
	return nil, nil
}

func (e *Env) partitionsPath() string { return filepath.Join(e.procRoot, "partitions") }
func (e *Env) sysDevBlock() string    { return filepath.Join(e.sysRoot, "dev", "block") }
