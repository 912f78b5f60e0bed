package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/alecthomas/kingpin/v2"
	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/ebpfmon/ebpfmon/caps"
)

// defaultCapabilitiesKeep is the default of --capabilities.keep: keep only
// what serving still needs (see capabilitiesAfterAttach).
const defaultCapabilitiesKeep = "auto"

// addCapabilitiesFlag registers --capabilities.keep, whose value goes to keep.
func addCapabilitiesFlag(app *kingpin.Application, keep *string) {
	app.Flag("capabilities.keep", "Capabilities to keep once every config is loaded and attached: "+
		"auto (what serving still needs on this kernel: none since Linux 6.5, else cap_bpf), none, all (drop nothing), "+
		"or a comma-separated list like cap_bpf,cap_syslog. The rest are dropped on every thread, from the bounding set too, "+
		"and no_new_privs is set.").
		Default(defaultCapabilitiesKeep).PlaceHolder("auto|none|all|CAP,...").StringVar(keep)
}

// checkCapabilitiesFlag reports a --capabilities.keep value that
// dropCapabilities would refuse, so that a typo stops ebpfmon before it
// loads anything.
func checkCapabilitiesFlag(keep string) error {
	if keep == "auto" {
		return nil
	}
	if _, err := caps.Parse(keep); err != nil {
		return fmt.Errorf("--capabilities.keep: %w", err)
	}
	return nil
}

// dropCapabilities applies --capabilities.keep: it drops, on every thread,
// the capabilities keep does not name. Call it once every config is loaded
// and attached, and the listener is open (a port below 1024 needs
// cap_net_bind_service), and treat an error as fatal: the process may be
// left with only part of the change. With keep "all" it drops nothing; with
// the default "auto" in a binary built with cgo, which cannot change every
// thread, it warns and drops nothing. With reload, "auto" drops nothing
// either: a reload loads and attaches programs as the startup did.
func dropCapabilities(keep string, reload bool, logger *slog.Logger) error {
	before, err := caps.Current()
	if err != nil {
		return err
	}
	var want caps.Set
	switch keep {
	case "all":
		logger.Info("keeping every capability (--capabilities.keep=all)", "effective", before.Effective)
		return nil
	case "auto":
		if reload {
			logger.Info("keeping every capability: reloads load and attach programs (--no-config.reload to drop them)", "effective", before.Effective)
			return nil
		}
		if want, err = capabilitiesAfterAttach(before.Permitted); err != nil {
			return fmt.Errorf("--capabilities.keep=auto: %w", err)
		}
	default:
		if want, err = caps.Parse(keep); err != nil {
			return fmt.Errorf("--capabilities.keep: %w", err)
		}
		if missing := want &^ before.Permitted; missing != 0 {
			logger.Warn("--capabilities.keep names capabilities ebpfmon does not have", "missing", missing)
		}
	}
	err = caps.Keep(want)
	if errors.Is(err, caps.ErrCgo) && keep == "auto" {
		logger.Warn("capabilities not dropped: this ebpfmon is built with cgo; build it with CGO_ENABLED=0 (make build)")
		return nil
	}
	if err != nil {
		return fmt.Errorf("--capabilities.keep=%s: %w", keep, err)
	}
	after, err := caps.Current()
	if err != nil {
		return err
	}
	logger.Info("dropped capabilities", "keep", keep, "kept", after.Effective, "dropped", before.Permitted&^after.Permitted)
	return nil
}

// capabilitiesAfterAttach returns what ebpfmon needs once its programs are
// attached, out of have: reading maps and program info through the file
// descriptors it holds, and nothing else (kallsyms, BTF, tracefs and the
// attachments are all done by then; cgroups, pci.ids and the like are read
// with file permissions only). Since Linux 6.5 a bpf() call on a map or
// program fd needs no capability. Before, when kernel.unprivileged_bpf_disabled
// is set (the default of most distributions), every bpf() call needs
// cap_bpf (cap_sys_admin before 5.8); backports make the version a poor
// guide, so this tries a lookup in a map of its own on a thread without
// effective capabilities.
func capabilitiesAfterAttach(have caps.Set) (caps.Set, error) {
	m, err := ebpf.NewMap(&ebpf.MapSpec{Name: "ebpfmon_probe", Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		return 0, fmt.Errorf("creating a map to probe with: %w", err)
	}
	defer m.Close()
	err = caps.WithoutEffective(func() error {
		var v uint32
		return m.Lookup(uint32(0), &v)
	})
	switch {
	case err == nil:
		return 0, nil
	case !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EACCES):
		return 0, fmt.Errorf("probing whether reading maps needs a capability: %w", err)
	case have.Has(unix.CAP_BPF):
		return caps.Of(unix.CAP_BPF), nil
	case have.Has(unix.CAP_SYS_ADMIN):
		return caps.Of(unix.CAP_SYS_ADMIN), nil
	}
	return 0, fmt.Errorf("reading maps needs cap_bpf or cap_sys_admin, and ebpfmon has neither (it has %s)", have)
}
