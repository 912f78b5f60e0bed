// Command soak drives the soak test of ebpfmon (test/soak/soak.sh, `make
// soak`): against a running ebpfmon it scrapes /metrics 10 times a second,
// as Prometheus does (its Accept header, with and without gzip), reloads
// one config every minute with a real change (a constant rewritten in its
// YAML; SIGHUP, POST /-/reload and the directory watch in turn), samples
// the process's figures from /proc and from its own go_goroutines and
// process_open_fds, prints them every minute, and fails on the first HTTP
// error, non-200 answer or unparsable body, on a metric family present at
// the start and missing later (named with the example it belongs to), on
// a failed reload, on ebpfmon or the load generator dying, and on RSS, fd
// or goroutine growth beyond the bounds it is given.
//
// soak.sh sets up what it needs (root, a network namespace, a fake pod
// cgroup, the load generator, ebpfmon itself) and cleans it up; run this
// command only through it.
package main
