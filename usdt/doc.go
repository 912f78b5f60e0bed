// Package usdt reads USDT (SystemTap SDT) probes from ELF files and encodes
// them the way libbpf's <bpf/usdt.bpf.h> expects, so BPF programs written
// with BPF_USDT, bpf_usdt_arg and bpf_usdt_arg_cnt run unchanged under a
// pure-Go loader.
//
//	note.go    .note.stapsdt notes -> []Probe (prelink-adjusted, with file offsets)
//	arg.go     argument strings ("-4@%eax 8@-16(%rbp)") -> []Arg (x86-64, arm64)
//	spec.go    []Arg -> the bytes of struct __bpf_usdt_spec (the __bpf_usdt_specs map value)
//	libbpf.go  what cilium/ebpf cannot load in objects built against usdt.bpf.h:
//	           weak maps, hidden helpers, the LINUX_HAS_BPF_COOKIE kconfig
//
// Attaching (finding the binary, filling the maps, creating the uprobes)
// is attach/usdt.go's job; nothing here touches the kernel except
// HaveCookies and PrepareLoad.
package usdt
