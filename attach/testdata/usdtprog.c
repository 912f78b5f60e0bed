// usdtprog: the target of the USDT and uprobe tests in attach/. Built by
// the tests with gcc (PIE and non-PIE) from this file and usdtsema.c,
// linked to libebpfmonusdt.so.1 (usdtlib.c) in ../lib.
//
//	usdtprog N   fires ebpfmon:hit with value v, v times, for v = 1..N
//	             (from two call sites), ebpfmon:args once with one
//	             argument of each kind, calls ebpfmon_target(v) and
//	             ebpfmon_lib_call(v) for v = 1..N, fires ebpfmon:sema(N)
//	             if a tracer set its semaphore, and prints
//	             "sum=S fired=F" (F: 1 if ebpfmon:sema fired).
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>

int sema_fire(long v);       /* usdtsema.c */
int ebpfmon_lib_call(int v); /* usdtlib.c */

/* Globals: at -O2 the args probe reads them with rip-relative operands
 * (ebpfmon_global(%rip)). */
volatile long ebpfmon_global = -42;
static volatile unsigned int ebpfmon_static = 0xfeedbeef;

__attribute__((noinline)) int ebpfmon_target(int v)
{
	__asm__ __volatile__("" ::: "memory");
	return v * 2;
}

__attribute__((noinline)) static void hit_a(int v)
{
	DTRACE_PROBE1(ebpfmon, hit, v);
}

__attribute__((noinline)) static void hit_b(int v)
{
	DTRACE_PROBE1(ebpfmon, hit, v);
}

__attribute__((noinline)) static void args(int n, long *mem)
{
	signed char c = -5 * n;
	unsigned short us = 65000 + n;
	int neg = -123456 * n;
	unsigned long long big = 0x1122334455667788ULL + n;

	DTRACE_PROBE8(ebpfmon, args, c, us, neg, big, mem[1], 7,
		      ebpfmon_global, ebpfmon_static);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	int one = argc > 2 ? atoi(argv[2]) : 1; /* unknown to the compiler */
	long mem[2] = { 0, -1000000000000L };
	int sum = 0, fired;

	for (int v = 1; v <= n; v++)
		for (int i = 0; i < v; i++)
			(i % 2 ? hit_b : hit_a)(v);
	args(one, mem);
	for (int v = 1; v <= n; v++)
		sum += ebpfmon_target(v) + ebpfmon_lib_call(v);
	fired = sema_fire(n);
	printf("sum=%d fired=%d\n", sum, fired);
	return 0;
}
