/* The loops over page-table entries that fork, exit, exec and munmap run (mm/physmem.py,
 * PteLoops): take or drop the reference of every present entry of a table range, find the
 * used part of a table. In Python each entry cost ~0.1 us of interpreter work; a fork and
 * an exit walk two or three tables each way.
 *
 * The bits come from Python (arch/x86_64/constants.py) in struct pte_mem, set once. */
#include <stdint.h>

struct pte_mem {
	uint64_t *q;          /* guest RAM as 64-bit words (page tables live there) */
	uint32_t *refcount;   /* per frame */
	uint8_t *was_code;    /* per frame: once mapped executable (freed into quarantine) */
	uint64_t ref_mask;    /* PTE_P | PTE_CACHE */
	uint64_t ref_value;   /* PTE_P: present and holding a reference (not a page-cache entry) */
	uint64_t addr_mask;   /* PTE_ADDR */
	uint64_t clear_mask;  /* PTE_W */
	uint32_t page_shift;
	uint32_t pad;
};

/* Take a reference on the frame of every referencing entry of q[from, to); with clear set,
 * the entries lose PTE_W first (copy-on-write in every table that maps them). */
void twaron_pte_get(const struct pte_mem *m, uint64_t from, uint64_t to, int clear)
{
	for (uint64_t i = from; i < to; i++) {
		uint64_t e = m->q[i];
		if (!e)
			continue;
		if (clear) {
			e &= ~m->clear_mask;
			m->q[i] = e;
		}
		if ((e & m->ref_mask) == m->ref_value)
			m->refcount[(e & m->addr_mask) >> m->page_shift]++;
	}
}

/* Drop the reference of every referencing entry of q[from, to) (the entries stay). Frames
 * whose last reference went are written to freed (ordinary) or code (once executable), at
 * most to - from each; returns how many: freed's count | code's count << 32. */
uint64_t twaron_pte_put(const struct pte_mem *m, uint64_t from, uint64_t to, uint32_t *freed,
			uint32_t *code)
{
	uint64_t nf = 0, nc = 0;

	for (uint64_t i = from; i < to; i++) {
		uint64_t e = m->q[i];
		if ((e & m->ref_mask) != m->ref_value)
			continue;
		uint64_t pfn = (e & m->addr_mask) >> m->page_shift;
		if (--m->refcount[pfn] == 0) {
			if (m->was_code[pfn])
				code[nc++] = (uint32_t)pfn;
			else
				freed[nf++] = (uint32_t)pfn;
		}
	}
	return nf | nc << 32;
}

/* The table at q[t, t + 512): [lo, hi) outside which every entry is zero, as lo | hi << 32
 * (0 when the table is empty). */
uint64_t twaron_pte_span(const struct pte_mem *m, uint64_t t)
{
	const uint64_t *e = m->q + t;
	uint64_t lo = 0, hi = 512;

	while (lo < 512 && !e[lo])
		lo++;
	if (lo == 512)
		return 0;
	while (!e[hi - 1])
		hi--;
	return lo | hi << 32;
}
