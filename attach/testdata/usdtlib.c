// libebpfmonusdt.so.1: a shared library for the USDT and uprobe tests in
// attach/, with a probe (ebpfmon_lib:call) and a versioned function:
// ebpfmon_lib_call@@EBPFMON_1, which programs link to, and the older
// ebpfmon_lib_call@EBPFMON_0, which nothing calls. Built with
// usdtlib.map.
#include <sys/sdt.h>

__attribute__((noinline)) int ebpfmon_lib_call_v1(int v)
{
	DTRACE_PROBE1(ebpfmon_lib, call, v);
	__asm__ __volatile__("" ::: "memory");
	return v + 1;
}

__attribute__((noinline)) int ebpfmon_lib_call_v0(int v)
{
	__asm__ __volatile__("" ::: "memory");
	return v - 1;
}

__asm__(".symver ebpfmon_lib_call_v1, ebpfmon_lib_call@@EBPFMON_1");
__asm__(".symver ebpfmon_lib_call_v0, ebpfmon_lib_call@EBPFMON_0");
