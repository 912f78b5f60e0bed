// Command bench measures the real ebpfmon binary at scale (`make bench`).
//
// For each case (counters or exp2 histograms, N distinct keys) it starts
// ebpfmon on a config of bench/configs with the object built for N
// (bench/build/KIND_N.bpf.o), fills the map by calling getpid(2) N times
// from a thread named as the config's comm constant, then scrapes /metrics
// K times plain and K times with Accept-Encoding: gzip, recording per
// scrape the process's CPU (the sum of /proc/PID/task/*/schedstat), the
// wall time, VmRSS and VmHWM, and the response bytes. It also times
// startup (exec to the first 200 on /metrics) and idle RSS with every
// example loaded. It prints a markdown table of medians and writes it,
// with the machine and date, to -out.
package main
