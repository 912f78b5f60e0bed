// Package kallsyms maps kernel addresses to symbol names using the table the
// kernel publishes in /proc/kallsyms.
//
// A [Table] reads its file lazily, on first use, and keeps the symbols in
// one sorted slice (address, module and an offset into one shared string of
// names) so that the ~200k symbols of a typical kernel cost a few MiB.
// Lookups are binary searches and safe for concurrent use.
//
// kallsyms lists no sizes. A symbol extends to the next one only while that
// one continues its run (the text, or the data, of the same module, of BPF
// JIT code or of the core kernel); the last symbol of a run ends at its
// module's end from /proc/modules, or [MaxTail] bytes past its start. An
// address elsewhere (code loaded after the table was read, unmapped space)
// is not found, rather than named after whatever symbol lies below it.
//
// Modules and BPF programs come and go. A lookup outside the core kernel
// rereads the table when it may be stale: the first time, then at most
// once per [DefaultMinRefresh]. The files stay open from the first read,
// because the kernel decides whether a reader sees addresses when the file
// is opened (Linux 5.8 and later): a process that reads the table while it
// has CAP_SYSLOG and then drops it, as ebpfmon does after attaching, keeps
// seeing addresses through the same descriptor. On older kernels the
// rereads of such a process see zero addresses and fail; the table read
// first stays in use.
//
// Without CAP_SYSLOG, or with kernel.kptr_restrict set, the kernel prints
// every address as zero; a Table reports that as [ErrAddressesHidden] rather
// than resolving everything to the first symbol.
package kallsyms
