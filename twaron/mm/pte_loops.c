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

#if __has_include(<Python.h>)
/* Built with Python's headers (build.load_module): the same loops as an extension module,
 * called like builtins. Through ctypes a call cost ~1 us of argument conversion, more than
 * the loop: a fork and an exit make eight of them. m is a struct pte_mem's address. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static int args_u64(PyObject *const *args, Py_ssize_t from, Py_ssize_t to, uint64_t *out)
{
	for (Py_ssize_t i = from; i < to; i++) {
		out[i - from] = PyLong_AsUnsignedLongLong(args[i]);
		if (out[i - from] == (uint64_t)-1 && PyErr_Occurred())
			return -1;
	}
	return 0;
}

/* get(m, from, to[, clear]); clear also as the keyword clear_w */
static PyObject *py_get(PyObject *Py_UNUSED(self), PyObject *const *args, size_t nargsf,
		       PyObject *kwnames)
{
	Py_ssize_t n = PyVectorcall_NARGS(nargsf);
	Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
	uint64_t v[4] = {0, 0, 0, 0};

	if (n + nkw < 3 || n + nkw > 4 || n < 3 ||
	    (nkw && PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "clear_w") != 0)) {
		PyErr_SetString(PyExc_TypeError, "get(m, from, to[, clear_w])");
		return NULL;
	}
	if (args_u64(args, 0, 3, v) < 0)
		return NULL;
	if (n + nkw == 4 && (v[3] = PyObject_IsTrue(args[3])) == (uint64_t)-1)
		return NULL;
	twaron_pte_get((const struct pte_mem *)v[0], v[1], v[2], (int)v[3]);
	Py_RETURN_NONE;
}

/* put(m, free_list, code_list, from, to): the freed frames are appended to the lists */
static PyObject *py_put(PyObject *Py_UNUSED(self), PyObject *const *args, Py_ssize_t n)
{
	uint64_t v[3];
	uint32_t freed[512], code[512];

	if (n != 5 || !PyList_Check(args[1]) || !PyList_Check(args[2])) {
		PyErr_SetString(PyExc_TypeError, "put(m, free_list, code_list, from, to)");
		return NULL;
	}
	if (args_u64(args, 0, 1, v) < 0 || args_u64(args, 3, 5, v + 1) < 0)
		return NULL;
	for (uint64_t from = v[1]; from < v[2]; from += 512) {
		uint64_t to = from + 512 < v[2] ? from + 512 : v[2];
		uint64_t r = twaron_pte_put((const struct pte_mem *)v[0], from, to, freed, code);
		uint32_t counts[2] = {(uint32_t)r, (uint32_t)(r >> 32)};
		uint32_t *lists[2] = {freed, code};
		for (int k = 0; k < 2; k++) {
			for (uint32_t i = 0; i < counts[k]; i++) {
				PyObject *pfn = PyLong_FromUnsignedLong(lists[k][i]);
				if (pfn == NULL || PyList_Append(args[1 + k], pfn) < 0) {
					Py_XDECREF(pfn);
					return NULL;
				}
				Py_DECREF(pfn);
			}
		}
	}
	Py_RETURN_NONE;
}

/* span(m, t) -> (lo, hi) */
static PyObject *py_span(PyObject *Py_UNUSED(self), PyObject *const *args, Py_ssize_t n)
{
	uint64_t v[2];

	if (n != 2) {
		PyErr_SetString(PyExc_TypeError, "span(m, t)");
		return NULL;
	}
	if (args_u64(args, 0, 2, v) < 0)
		return NULL;
	uint64_t r = twaron_pte_span((const struct pte_mem *)v[0], v[1]);
	return Py_BuildValue("(kk)", (unsigned long)(r & 0xFFFFFFFFu), (unsigned long)(r >> 32));
}

static PyMethodDef methods[] = {
	{"get", (PyCFunction)(void (*)(void))py_get, METH_FASTCALL | METH_KEYWORDS, "twaron_pte_get"},
	{"put", (PyCFunction)(void (*)(void))py_put, METH_FASTCALL, "twaron_pte_put"},
	{"span", (PyCFunction)(void (*)(void))py_span, METH_FASTCALL, "twaron_pte_span"},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "pte_loops", NULL, -1, methods,
				    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit_pte_loops(void)
{
	return PyModule_Create(&module);
}
#endif
