// Package attach links loaded eBPF programs to the kernel hook their ELF
// section names, the libbpf convention ebpf_exporter users already follow:
//
//	tracepoint/CAT/NAME  tp/CAT/NAME        tracepoint.go
//	raw_tp/NAME          raw_tracepoint/NAME rawtp.go
//	tp_btf/NAME  fentry/FUNC  fexit/FUNC     tracing.go
//	kprobe/FUNC[+OFF]    kretprobe/FUNC      kprobe.go
//	uprobe/PATH:SYM[+OFF] uretprobe/PATH:SYM uprobe.go (PATH may be a bare library or program name)
//	usdt/PATH:PROVIDER:NAME                  usdt.go (fills libbpf's usdt.bpf.h maps)
//	perf_event/type=T,config=C,frequency=F|sample_period=P  perfevent.go (every online CPU)
//	xdp/IFNAME                               xdp.go
//	cgroup_skb/ingress  cgroup_skb/egress    cgroupskb.go (the cgroup2 root)
//
// CheckProgram refuses, before loading, an xdp/ or cgroup_skb/ program that
// may return a constant verdict that drops packets (verdict.go).
//
// Each attacher returns an io.Closer that detaches everything it attached,
// and closes what it opened itself when it fails half way.
package attach
