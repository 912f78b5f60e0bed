package decoder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf/btf"

	"github.com/ebpfmon/ebpfmon/cgroup"
	"github.com/ebpfmon/ebpfmon/kallsyms"
	"github.com/ebpfmon/ebpfmon/kube"
)

// Env holds the system lookups decoders share: the kernel symbol table, the
// cgroup resolver, the pci.ids database, the block device names and the
// kernel's BTF. Create
// one per process with [NewEnv] and pass it to every [New]. Each lookup is
// loaded once, when the first decoder needing it is built (so a hidden
// kallsyms or a missing cgroup mount fails the config at load, not at a
// scrape), and an Env costs nothing until then. A failed load is not
// retried: every later decoder needing it fails the same way. An Env is safe
// for concurrent use.
type Env struct {
	procRoot    string
	sysRoot     string
	pciIDsPaths []string
	cgroupRoot  string
	cgroupMount bool
	cgroupGrace time.Duration
	syscallArch string

	kubeCtx  context.Context
	kubeOpts kube.Options
	kubeSet  *kube.Resolver // WithKubeResolver's, else nil
	btfSet   *btf.Spec      // WithKernelBTF's, else nil
	btfPath  string         // the file btfSet was read from

	ksyms    *kallsyms.Table
	cgroups  func() (*cgroup.Resolver, error)
	pci      func() (*pciDB, error)
	kube     func() (*kube.Resolver, error)
	btf      func() (*btf.Spec, error)
	kubeMade atomic.Pointer[kube.Resolver] // what kube returned, once it has
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

// WithCgroupGrace sets how long the id of a removed cgroup keeps resolving
// to its last path (default [cgroup.DefaultGrace]; 0: not at all), so that a
// deleted pod's series keep their cgroup and pod labels while its last
// counts are exported. Give the pod decoders' grace period: the pod
// decoders reach a pod only through the cgroup decoder.
func WithCgroupGrace(d time.Duration) Option { return func(e *Env) { e.cgroupGrace = max(d, 0) } }

// WithCgroupMountPaths makes the cgroup decoder output paths with the
// cgroup2 mount point in front, as ebpf_exporter does:
// "/sys/fs/cgroup/system.slice/x.service" on a pure cgroup2 host,
// "/sys/fs/cgroup/unified" for the root on a hybrid one, instead of
// "/system.slice/x.service" and "/". Relative paths, the default, do not
// depend on where the host's cgroupfs is mounted (a container may mount it
// anywhere); this is for drop-in users whose queries and regexps expect
// ebpf_exporter's form.
func WithCgroupMountPaths() Option { return func(e *Env) { e.cgroupMount = true } }

// WithSyscallArch selects the syscall table by GOARCH name ("amd64" or
// "arm64") instead of runtime.GOARCH.
func WithSyscallArch(goarch string) Option { return func(e *Env) { e.syscallArch = goarch } }

// WithKube sets how the pod and peer_pod decoders' [kube.Resolver] is
// made, when the first of them is built: its informers run until ctx
// ends. Without it the Resolver uses kube's defaults (in-cluster API
// access, the node from $NODE_NAME) and runs for the life of the process.
func WithKube(ctx context.Context, opts kube.Options) Option {
	return func(e *Env) { e.kubeCtx, e.kubeOpts = ctx, opts }
}

// WithKubeResolver makes the pod and peer_pod decoders use r (for tests:
// see [kube.NewResolverWith]) instead of making one.
func WithKubeResolver(r *kube.Resolver) Option { return func(e *Env) { e.kubeSet = r } }

// WithKernelBTF makes the btf_enum decoder name values from spec, read
// from path (--btf.path), instead of the running kernel's BTF; errors name
// path. A nil spec changes nothing.
func WithKernelBTF(spec *btf.Spec, path string) Option {
	return func(e *Env) { e.btfSet, e.btfPath = spec, path }
}

// NewEnv returns an Env reading the real system (/proc, /sys, the cgroup2
// mount, the system pci.ids), changed by opts.
func NewEnv(opts ...Option) *Env {
	e := &Env{
		procRoot:    "/proc",
		sysRoot:     "/sys",
		pciIDsPaths: []string{"/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"},
		syscallArch: runtime.GOARCH,
		cgroupGrace: cgroup.DefaultGrace,
		kubeCtx:     context.Background(),
	}
	for _, opt := range opts {
		opt(e)
	}
	e.ksyms = kallsyms.New(filepath.Join(e.procRoot, "kallsyms"))
	e.cgroups = sync.OnceValues(e.newCgroupResolver)
	e.pci = sync.OnceValues(e.loadPCIDB)
	e.kube = sync.OnceValues(e.newKube)
	e.btf = sync.OnceValues(e.loadKernelBTF)
	return e
}

// KernelBTF returns the kernel's BTF: [WithKernelBTF]'s, or else the
// running kernel's, read on the first call (the first btf_enum decoder
// built). A kernel without BTF is an error.
func (e *Env) KernelBTF() (*btf.Spec, error) { return e.btf() }

// btfFile is the file [Env.KernelBTF] reads (for error messages): the
// path given to [WithKernelBTF], or the running kernel's.
func (e *Env) btfFile() string {
	if e.btfSet != nil {
		return e.btfPath
	}
	return "/sys/kernel/btf/vmlinux"
}

func (e *Env) loadKernelBTF() (*btf.Spec, error) {
	if e.btfSet != nil {
		return e.btfSet, nil
	}
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("kernel BTF: %w (the kernel needs CONFIG_DEBUG_INFO_BTF, or give --btf.path)", err)
	}
	return spec, nil
}

// Kallsyms returns the kernel symbol table, read when the first ksym or
// kstack decoder is built, or else on its first lookup.
func (e *Env) Kallsyms() *kallsyms.Table { return e.ksyms }

// loadKallsyms returns the kernel symbol table, read now if it has not
// been; an unreadable or hidden table is an error.
func (e *Env) loadKallsyms() (*kallsyms.Table, error) {
	if _, err := e.ksyms.Len(); err != nil {
		return nil, err
	}
	return e.ksyms, nil
}

// Cgroups returns the cgroup id resolver, locating the hierarchy on the
// first call (the first cgroup decoder built). No cgroup mount, or a root
// that is not a directory, is an error.
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
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("cgroup root: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("cgroup root %s: not a directory", root)
	}
	return cgroup.NewResolver(root, cgroup.DefaultMinRefresh, e.cgroupGrace), nil
}

// Kube returns the Kubernetes resolver of the pod and peer_pod decoders,
// made on the first call (the first such decoder built), so that a host
// whose configs use none makes no API traffic. Without API access it is a
// Resolver that resolves from the cgroup path alone (kube logs that once);
// with access but no node name it is an error.
func (e *Env) Kube() (*kube.Resolver, error) { return e.kube() }

// KubeResolver returns the Resolver [Env.Kube] made, or nil if no decoder
// has needed one yet; it never makes one.
func (e *Env) KubeResolver() *kube.Resolver { return e.kubeMade.Load() }

func (e *Env) newKube() (*kube.Resolver, error) {
	r := e.kubeSet
	if r == nil {
		var err error
		if r, err = kube.NewResolver(e.kubeCtx, e.kubeOpts); err != nil {
			return nil, err
		}
	}
	e.kubeMade.Store(r)
	return r, nil
}

// loadPCIDB parses the first pci.ids that exists, when the first pci
// decoder is built; an unreadable or malformed file is an error. None
// existing is not an error: it yields a nil database, and the pci decoders
// say so in their output, like ebpf_exporter.
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
