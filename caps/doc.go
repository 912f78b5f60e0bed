// Package caps reads and drops Linux capabilities for the whole process.
//
// [Parse] reads a capability list ("none", "all", "cap_bpf,cap_perfmon"),
// [Keep] drops every other capability on every thread of the process (Go
// runs goroutines on many OS threads and Linux keeps capabilities per
// thread), from the bounding set too, and sets no_new_privs, and [Current]
// and [ReadStatus] read what a process or thread has from procfs. Keep
// needs a binary built with CGO_ENABLED=0, as ebpfmon's is.
//
// # What ebpfmon needs
//
// Running as root needs nothing more. To run as another user, grant these
// capabilities (as ambient capabilities, or file capabilities on the binary),
// by what the configs use. Measured on Linux 6.18 (kernel.unprivileged_bpf_disabled=2,
// kernel.perf_event_paranoid=2, kernel.kptr_restrict=0) by running each bundled
// example as uid 65534 under setpriv(1) with --config.check --config.strict,
// removing one capability at a time; rows marked (source) could not be run
// on that kernel and come from the kernel source.
//
//	what                                   capabilities
//	every config                           cap_bpf, cap_perfmon (Linux 5.8+; cap_sys_admin before)
//	  kernels before 5.11                  + cap_sys_resource (BPF memory is charged to RLIMIT_MEMLOCK)
//	tracepoint/ sections                   + cap_dac_read_search (tracefs is root-only: 0700 on recent kernels)
//	  tracefs not mounted                  + cap_sys_admin (ebpfmon mounts it)
//	raw_tp/, tp_btf/, fentry/, fexit/      nothing more (fentry/fexit: source)
//	kprobe/, kretprobe/                    nothing more (source: the kprobe PMU needs cap_perfmon;
//	                                       kernels without it, before 4.17, write tracefs: uid 0 or cap_dac_override)
//	uprobe/, uretprobe/, usdt/             + cap_sys_admin (Linux 6.16+ and stable kernels with "perf: Revert
//	                                       to requiring CAP_SYS_ADMIN for uprobes"; cap_perfmon before)
//	perf_event/                            nothing more
//	xdp/                                   + cap_net_admin
//	cgroup_skb/                            + cap_net_admin to attach (BPF_LINK_CREATE on the cgroup2 root);
//	                                       the programs load with cap_bpf alone, so podnet runs with
//	                                       cap_bpf + cap_net_admin, no cap_perfmon (podtcp, tp_btf: cap_bpf + cap_perfmon)
//	ksym, kstack decoders, kaddrs          + cap_syslog (kallsyms shows addresses only with it, unless
//	                                       kptr_restrict=0 and perf_event_paranoid<=1)
//	cgroup decoder, cgroup_id_map          nothing more (cgroupfs is world-readable; cgrp_storage maps need Linux 6.2)
//	perf_event_array counters              nothing more
//
// cap_perfmon is needed by the programs themselves, not only by perf
// events: the verifier allows pointer arithmetic, bpf_probe_read_kernel and
// the tracing program types only with it.
//
// # What ebpfmon keeps
//
// Once every config is loaded and attached, ebpfmon only reads maps and
// program info through file descriptors it already holds, reads ring and
// perf buffers, and reads cgroupfs, sysfs and procfs files that file
// permissions allow (kallsyms, BTF and tracefs are read before; kallsyms
// stays open, so that the ksym and kstack decoders can reread it when
// modules or BPF programs change: the kernel shows addresses to a reader
// that had cap_syslog when it opened the file, Linux 5.8+, so auto need not
// keep cap_syslog). Since Linux
// 6.5 a bpf() call on a map or program fd needs no capability, so
// --capabilities.keep=auto keeps none, as measured on 6.18 (uid 0 and uid
// 65534 served every example, the cgroup id maps followed new cgroups, and
// SIGTERM detached every program, XDP included, with no capability left).
// Before 6.5, while kernel.unprivileged_bpf_disabled is set (the default of
// most distributions), every bpf() call needs cap_bpf (cap_sys_admin
// before 5.8), which auto then keeps; it finds out by trying a map lookup
// without effective capabilities, so backports count.
package caps
