// Package systemd tests deploy/systemd and `make install`: the tree the
// install lays out under DESTDIR and PREFIX, the units checked by
// systemd-analyze (verify, and the security exposure, printed), and the
// hardened service emulated without systemd as PID 1: the installed binary
// run as in ExecStart, as an unprivileged user with only the unit's
// capabilities and no_new_privs (setpriv), under strace, on the configs the
// unit serves by default. Every config must load, sd_notify must say so,
// and every system call, socket family and file access ebpfmon makes must
// be one the unit allows.
package systemd
