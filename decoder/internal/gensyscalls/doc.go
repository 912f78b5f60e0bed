// Command gensyscalls writes the syscall number-to-name tables of package
// decoder, offline:
//
//	go generate ./decoder
//
// The source is golang.org/x/sys/unix's zsysnum_linux_ARCH.go at the version
// go.mod pins: generated upstream from current kernel headers, and already
// in the module cache. Debian's linux-libc-dev lags the running kernel by
// years (its 6.1 headers lack every syscall since 451), which is why the
// tables do not come from /usr/include.
package main
