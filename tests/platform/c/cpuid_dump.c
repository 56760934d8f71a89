/* CPUID of a list of leaves and subleaves, with garbage in the upper halves of the four
 * registers before it (64-bit CPUID writes them zero-extended). Prints "leaf.sub a b c d". */
#include <stdio.h>

static void query(unsigned leaf, unsigned sub)
{
	unsigned long a = 0xdead00000000ul | leaf, b = 0xdead00000000ul;
	unsigned long c = 0xdead00000000ul | sub, d = 0xdead00000000ul;
	__asm__ volatile("cpuid" : "+a"(a), "+b"(b), "+c"(c), "+d"(d));
	printf("%x.%u %lx %lx %lx %lx\n", leaf, sub, a, b, c, d);
}

int main(void)
{
	unsigned long top = 0, b = 0, c = 0, d = 0, ext = 0x80000000ul;
	__asm__ volatile("cpuid" : "+a"(top), "=b"(b), "=c"(c), "=d"(d));
	__asm__ volatile("cpuid" : "+a"(ext), "=b"(b), "=c"(c), "=d"(d));
	static const unsigned leaves[][2] = {
		{0, 0}, {1, 0}, {1, 5}, {4, 0}, {4, 1}, {4, 3}, {7, 0}, {7, 1}, {0xb, 0}, {0xb, 1},
		{0xd, 0}, {0xd, 1}, {0xd, 2}, {0x40000000, 0}, {0x80000000, 0}, {0x80000001, 0},
		{0x80000008, 0}, {0xffffffff, 0},
	};
	for (unsigned i = 0; i < sizeof leaves / sizeof leaves[0]; i++)
		query(leaves[i][0], leaves[i][1]);
	query((unsigned)top + 1, 0);  /* above the highest basic leaf */
	query((unsigned)top + 7, 3);
	query((unsigned)ext + 1, 0);  /* above the highest extended leaf */
	return 0;
}
