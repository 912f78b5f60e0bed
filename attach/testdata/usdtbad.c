// A hand-written USDT note for usdtprog: probe ebpfmon:bad, whose argument
// is an indexed memory operand (base + index*scale), which usdt.bpf.h has
// no way to express. attach must refuse it with a clear error. It is never
// fired (its site is a nop no code reaches).
__asm__(
	"	.pushsection .text\n"
	"ebpfmon_bad_site:\n"
	"	nop\n"
	"	.popsection\n"
	"	.pushsection .note.stapsdt,\"?\",\"note\"\n"
	"	.balign 4\n"
	"	.4byte 992f-991f, 994f-993f, 3\n"
	"991:	.asciz \"stapsdt\"\n"
	"992:	.balign 4\n"
	"993:	.8byte ebpfmon_bad_site\n"
	"	.8byte _.stapsdt.base\n"
	"	.8byte 0\n"
	"	.asciz \"ebpfmon\"\n"
	"	.asciz \"bad\"\n"
	"	.asciz \"8@8(%rax,%rbx,4)\"\n"
	"994:	.balign 4\n"
	"	.popsection\n");
