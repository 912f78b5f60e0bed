// Package decoder turns the bytes of BPF map keys into Prometheus label
// values, with the decoders and YAML semantics of cloudflare/ebpf_exporter.
//
// A key is split into fields by a [LabelSet], one field per configured label
// (Size bytes, then Padding bytes skipped). Each field runs through its
// label's [Chain] of decoders: the first decoder gets the raw field (kernel
// bytes in host byte order), each later one the previous decoder's output,
// and the final output is sanitised to valid UTF-8.
//
// Decoders are built once, when a config loads, by [New] from the registry
// of [Names]; options such as regexps are checked and compiled there, never
// during a scrape. [NewLabelSet] also checks that each label's first decoder
// takes the label's size (uint on 3 bytes, or errno on raw bytes, is an
// error). System lookups (kallsyms, cgroups, pci.ids, block devices, kernel
// BTF) live in one shared [Env]; each is loaded once, when the first decoder
// needing it is built, so that a hidden kallsyms, a missing cgroup mount or
// an enum the kernel lacks fails the config at load. A lookup that finds nothing (an unknown address or id) is
// not an error: the decoder outputs a placeholder such as "unknown:N".
//
// The decoders, by input form. Raw decoders take the key field itself:
//
//	uint        1/2/4/8-byte integer    -> decimal text           {42 0 0 0} -> "42"
//	hex         any bytes               -> lowercase hex          {0xde 0xad} -> "dead"
//	string      C string buffer         -> bytes before first NUL "bash\0\0" -> "bash"
//	inet_ip     4 or 16 bytes           -> IPv4/IPv6 text         -> "10.0.0.1"
//	ksym        8-byte kernel address   -> symbol starting there, else "unknown_addr:0x..."
//	kstack      8-byte addresses, 0-end -> containing symbols joined by "\n", "??" if none (bounded extents)
//	majorminor  4-byte new_encode_dev   -> block device name, else "unknown:MAJ:MIN"
//	ifname      4-byte ifindex          -> interface name, else "unknown:N"
//	dname       DNS wire-format name    -> dotted name            "\x03www\x03foo\0" -> "www.foo"
//
// Text decoders take the output of an earlier decoder, usually uint:
//
//	static_map   text -> mapped text, else "unknown:TEXT" (TEXT with allow_unknown)
//	regexp       text -> unchanged (or the first group) if a regexp matches, else skip
//	cgroup       cgroup id -> path below the cgroup2 root, else "unknown_cgroup_id:N"
//	errno        number -> "ENOENT"..., else "unknown:N"
//	syscall      number -> syscall name for GOARCH, else "unknown_syscall:N"
//	pci_vendor   vendor id -> name from pci.ids
//	pci_device   vendor<<16|device -> name from pci.ids
//	pci_class    class -> name from pci.ids
//	pci_subclass class<<8|subclass -> name from pci.ids
//	btf_enum     number -> name in an enum of the kernel's BTF (less strip_prefix), else the number
//
// Kubernetes decoders take the output of cgroup (a cgroup path) or inet_ip
// (an address), and resolve through the Env's [kube.Resolver], made when
// the first of them is built ([Env.Kube]):
//
//	pod           cgroup path -> pod name; without API access the pod UID
//	pod_namespace cgroup path -> pod namespace; without API access ""
//	container     cgroup path -> container name; without API access the container id
//	peer_pod      IP text     -> "namespace/pod", "namespace/service" for a ClusterIP, else "external"
//
// A cgroup of no pod gives "" (not_pod: empty), the path (path) or skips
// the label set (skip); an unknown address gives "external" (unknown_peer:
// external), the address (ip) or skips (skip).
//
// A label with bytes_of decodes the key bytes of an earlier label instead
// of its own, so several labels (cgroup, pod, pod_namespace, container) can
// come from one key field; see [NewLabelSet].
// Each decoder's doc comment, in its own file, gives the details.
package decoder
