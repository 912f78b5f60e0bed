// Command gensyscalls writes the syscall number-to-name tables of package
// decoder from the Linux UAPI headers installed on the machine, so that they
// can be regenerated offline:
//
//	go generate ./decoder
//
// amd64 reads asm/unistd_64.h from Debian's linux-libc-dev (or the
// linux-libc-dev-amd64-cross layout); arm64 reads asm/unistd.h from
// linux-libc-dev-arm64-cross, which includes asm-generic/unistd.h. Both are
// run through a small C preprocessor that understands #define, #undef,
// #include, #if/#ifdef/#ifndef/#elif/#else/#endif and the integer
// expressions those headers use, so that arm64 gets exactly the syscalls its
// __ARCH_WANT_* macros select.
package main
