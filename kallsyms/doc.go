// Package kallsyms maps kernel addresses to symbol names using the table the
// kernel publishes in /proc/kallsyms.
//
// A [Table] reads its file once, lazily, on the first lookup, and keeps the
// symbols in one sorted slice (address plus an offset into one shared string
// of names) so that the ~200k symbols of a typical kernel cost a few MiB.
// Lookups are binary searches and safe for concurrent use.
//
// Without CAP_SYSLOG, or with kernel.kptr_restrict set, the kernel prints
// every address as zero; a Table reports that as [ErrAddressesHidden] rather
// than resolving everything to the first symbol.
package kallsyms
