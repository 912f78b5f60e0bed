package lifecycle

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/kallsyms"
)

// kaddrVar is the constant a program declares for each kaddrs entry:
// "volatile const u64 kaddr_SYMBOL;" is set to SYMBOL's address before load.
func kaddrVar(symbol string) string { return "kaddr_" + symbol }

// checkKaddrs returns, without the kernel, every kaddrs entry the object
// has no 8-byte constant for.
func checkKaddrs(cfg *config.Config, spec *ebpf.CollectionSpec) error {
	var errs []error
	for i, sym := range cfg.Kaddrs {
		v, ok := spec.Variables[kaddrVar(sym)]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("kaddrs[%d]: the object has no %s: declare \"volatile const u64 %s;\"", i, kaddrVar(sym), kaddrVar(sym)))
		case !v.Constant() || v.Size() != 8:
			errs = append(errs, fmt.Errorf("kaddrs[%d]: %s must be a const volatile u64 (it is %d bytes in %s)", i, kaddrVar(sym), v.Size(), v.SectionName))
		}
	}
	return errors.Join(errs...)
}

// setKaddrs resolves every kaddrs symbol from kallsyms and sets its
// constant in spec.
func setKaddrs(cfg *config.Config, spec *ebpf.CollectionSpec, table *kallsyms.Table) error {
	for i, sym := range cfg.Kaddrs {
		addr, err := table.Address(sym)
		if err != nil {
			return fmt.Errorf("%s: kaddrs[%d]: %w (see /proc/kallsyms for this kernel's symbols)", cfg.Path, i, err)
		}
		if err := spec.Variables[kaddrVar(sym)].Set(addr); err != nil {
			return fmt.Errorf("%s: kaddrs[%d]: set %s: %w", cfg.Path, i, kaddrVar(sym), err)
		}
	}
	return nil
}
