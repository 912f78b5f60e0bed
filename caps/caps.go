package caps

import (
	"fmt"
	"math/bits"
	"strings"

	"golang.org/x/sys/unix"
)

// Cap is a Linux capability, by number: [unix.CAP_BPF] is 39.
type Cap uint

// names are the capability names of capabilities(7), in lower case, by number.
var names = [...]string{
	unix.CAP_CHOWN:              "cap_chown",
	unix.CAP_DAC_OVERRIDE:       "cap_dac_override",
	unix.CAP_DAC_READ_SEARCH:    "cap_dac_read_search",
	unix.CAP_FOWNER:             "cap_fowner",
	unix.CAP_FSETID:             "cap_fsetid",
	unix.CAP_KILL:               "cap_kill",
	unix.CAP_SETGID:             "cap_setgid",
	unix.CAP_SETUID:             "cap_setuid",
	unix.CAP_SETPCAP:            "cap_setpcap",
	unix.CAP_LINUX_IMMUTABLE:    "cap_linux_immutable",
	unix.CAP_NET_BIND_SERVICE:   "cap_net_bind_service",
	unix.CAP_NET_BROADCAST:      "cap_net_broadcast",
	unix.CAP_NET_ADMIN:          "cap_net_admin",
	unix.CAP_NET_RAW:            "cap_net_raw",
	unix.CAP_IPC_LOCK:           "cap_ipc_lock",
	unix.CAP_IPC_OWNER:          "cap_ipc_owner",
	unix.CAP_SYS_MODULE:         "cap_sys_module",
	unix.CAP_SYS_RAWIO:          "cap_sys_rawio",
	unix.CAP_SYS_CHROOT:         "cap_sys_chroot",
	unix.CAP_SYS_PTRACE:         "cap_sys_ptrace",
	unix.CAP_SYS_PACCT:          "cap_sys_pacct",
	unix.CAP_SYS_ADMIN:          "cap_sys_admin",
	unix.CAP_SYS_BOOT:           "cap_sys_boot",
	unix.CAP_SYS_NICE:           "cap_sys_nice",
	unix.CAP_SYS_RESOURCE:       "cap_sys_resource",
	unix.CAP_SYS_TIME:           "cap_sys_time",
	unix.CAP_SYS_TTY_CONFIG:     "cap_sys_tty_config",
	unix.CAP_MKNOD:              "cap_mknod",
	unix.CAP_LEASE:              "cap_lease",
	unix.CAP_AUDIT_WRITE:        "cap_audit_write",
	unix.CAP_AUDIT_CONTROL:      "cap_audit_control",
	unix.CAP_SETFCAP:            "cap_setfcap",
	unix.CAP_MAC_OVERRIDE:       "cap_mac_override",
	unix.CAP_MAC_ADMIN:          "cap_mac_admin",
	unix.CAP_SYSLOG:             "cap_syslog",
	unix.CAP_WAKE_ALARM:         "cap_wake_alarm",
	unix.CAP_BLOCK_SUSPEND:      "cap_block_suspend",
	unix.CAP_AUDIT_READ:         "cap_audit_read",
	unix.CAP_PERFMON:            "cap_perfmon",
	unix.CAP_BPF:                "cap_bpf",
	unix.CAP_CHECKPOINT_RESTORE: "cap_checkpoint_restore",
}

// String returns the capability's name, like "cap_bpf", or "cap_N" for a
// number this package has no name for.
func (c Cap) String() string {
	if int(c) < len(names) {
		return names[c]
	}
	return fmt.Sprintf("cap_%d", uint(c))
}

// Set is a set of capabilities: bit N stands for capability N, the layout
// of the kernel's capability masks and of /proc/PID/status.
type Set uint64

// All holds every capability this package has a name for.
const All = Set(1)<<len(names) - 1

// Of returns the set holding caps.
func Of(caps ...Cap) Set {
	var s Set
	for _, c := range caps {
		s |= 1 << c
	}
	return s
}

// Has reports whether c is in s.
func (s Set) Has(c Cap) bool { return c < 64 && s&(1<<c) != 0 }

// Caps lists the capabilities in s, in increasing order.
func (s Set) Caps() []Cap {
	out := make([]Cap, 0, bits.OnesCount64(uint64(s)))
	for rest := uint64(s); rest != 0; rest &= rest - 1 {
		out = append(out, Cap(bits.TrailingZeros64(rest)))
	}
	return out
}

// String returns the capabilities' names separated by commas, "none" for
// the empty set: what [Parse] reads back.
func (s Set) String() string {
	if s == 0 {
		return "none"
	}
	caps := s.Caps()
	out := make([]string, len(caps))
	for i, c := range caps {
		out[i] = c.String()
	}
	return strings.Join(out, ",")
}

// Parse reads a set of capabilities: "none", "all" (every capability in
// [All]), or a comma-separated list of names as in capabilities(7), in any
// case, with or without the "cap_" prefix: "cap_bpf,cap_perfmon",
// "CAP_BPF, perfmon".
func Parse(s string) (Set, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none":
		return 0, nil
	case "all":
		return All, nil
	case "":
		return 0, fmt.Errorf("empty capability list, want none, all or names like cap_bpf,cap_perfmon")
	}
	var set Set
	for _, field := range strings.Split(s, ",") {
		name := strings.ToLower(strings.TrimSpace(field))
		if name == "" {
			return 0, fmt.Errorf("capability list %q: empty name", s)
		}
		if name == "none" || name == "all" {
			return 0, fmt.Errorf("capability list %q: %s cannot be combined with names", s, name)
		}
		c, ok := byName(strings.TrimPrefix(name, "cap_"))
		if !ok {
			return 0, fmt.Errorf("capability list %q: unknown capability %q (names as in capabilities(7), like cap_bpf or cap_perfmon)", s, strings.TrimSpace(field))
		}
		set |= Of(c)
	}
	return set, nil
}

// byName finds a capability by its name without the cap_ prefix.
func byName(short string) (Cap, bool) {
	for c, name := range names {
		if name[len("cap_"):] == short {
			return Cap(c), true
		}
	}
	return 0, false
}
