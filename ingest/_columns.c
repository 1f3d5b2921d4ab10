/*
 * ingest._columns: group-by kernels for columnar operators.
 *
 * An operator that merges a batch into keyed state needs, for every distinct key of a
 * column, where the key first and last occurs and how often. In Python that takes two
 * dict(zip(...)) passes and a Counter (and, for a key made of two columns, a tuple per
 * row); these kernels do it in one pass and build a pair tuple only once per distinct
 * pair. ingest/columns.py holds the pure-Python equivalents (used when this module was not
 * built) and the tests check the two agree.
 *
 * spans(keys) -> (distinct keys in first-occurrence order, first index, last index, count)
 * pair_spans(a, b) -> the same for the keys (a[i], b[i]); the distinct keys are tuples.
 *
 * Merging those spans into keyed state is a loop per distinct key, which these kernels also
 * run (ingest/columns.py has the Python they equal):
 * merge_ranges(m, base_get, keys, ts, firsts, lasts, dirty, tail=()) -> None
 * add_counts(m, base_get, deleted, keys, counts, dirty) -> None
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    Py_ssize_t *first;
    Py_ssize_t *last;
    Py_ssize_t *count;
    Py_ssize_t used;
} Slots;

static int
slots_init(Slots *s, Py_ssize_t n)
{
    size_t size = (size_t)(n > 0 ? n : 1) * sizeof(Py_ssize_t);
    s->first = PyMem_Malloc(size);
    s->last = PyMem_Malloc(size);
    s->count = PyMem_Malloc(size);
    s->used = 0;
    if (s->first == NULL || s->last == NULL || s->count == NULL) {
        PyMem_Free(s->first);
        PyMem_Free(s->last);
        PyMem_Free(s->count);
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void
slots_free(Slots *s)
{
    PyMem_Free(s->first);
    PyMem_Free(s->last);
    PyMem_Free(s->count);
}

/* Records occurrence i of the key whose slot is stored in `table` under `key`; a new key
 * gets the next slot and `fresh` (a new reference, or the key itself) joins `uniq`. */
static int
observe(PyObject *table, PyObject *key, Py_ssize_t i, Slots *s, PyObject *uniq,
        PyObject *(*make_fresh)(PyObject *, PyObject *), PyObject *a)
{
    PyObject *slot = PyDict_GetItemWithError(table, key);
    if (slot != NULL) {
        Py_ssize_t k = PyLong_AsSsize_t(slot);
        s->last[k] = i;
        s->count[k] += 1;
        return 0;
    }
    if (PyErr_Occurred())
        return -1; /* unhashable key */
    Py_ssize_t k = s->used++;
    s->first[k] = s->last[k] = i;
    s->count[k] = 1;
    PyObject *index = PyLong_FromSsize_t(k);
    if (index == NULL)
        return -1;
    int rc = PyDict_SetItem(table, key, index);
    Py_DECREF(index);
    if (rc < 0)
        return -1;
    PyObject *fresh = make_fresh == NULL ? Py_NewRef(key) : make_fresh(a, key);
    if (fresh == NULL)
        return -1;
    rc = PyList_Append(uniq, fresh);
    Py_DECREF(fresh);
    return rc;
}

static PyObject *
int_list(const Py_ssize_t *values, Py_ssize_t n)
{
    PyObject *list = PyList_New(n);
    if (list == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyLong_FromSsize_t(values[i]);
        if (v == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, v);
    }
    return list;
}

static PyObject *
result(PyObject *uniq, Slots *s)
{
    PyObject *first = int_list(s->first, s->used);
    PyObject *last = first ? int_list(s->last, s->used) : NULL;
    PyObject *count = last ? int_list(s->count, s->used) : NULL;
    if (count == NULL) {
        Py_XDECREF(first);
        Py_XDECREF(last);
        Py_DECREF(uniq);
        return NULL;
    }
    return Py_BuildValue("(NNNN)", uniq, first, last, count);
}

static PyObject *
columns_spans(PyObject *module, PyObject *keys)
{
    (void)module;
    if (!PyList_Check(keys)) {
        PyErr_SetString(PyExc_TypeError, "spans(keys): keys must be a list");
        return NULL;
    }
    /* A snapshot: a key's __hash__/__eq__ (or a finalizer) may change the list. */
    PyObject *snap = PySequence_Tuple(keys);
    if (snap == NULL)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(snap);
    Slots s;
    PyObject *table = PyDict_New();
    PyObject *uniq = PyList_New(0);
    if (table == NULL || uniq == NULL || slots_init(&s, n) < 0) {
        Py_XDECREF(table);
        Py_XDECREF(uniq);
        Py_DECREF(snap);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (observe(table, PyTuple_GET_ITEM(snap, i), i, &s, uniq, NULL, NULL) < 0) {
            Py_DECREF(table);
            Py_DECREF(uniq);
            Py_DECREF(snap);
            slots_free(&s);
            return NULL;
        }
    }
    Py_DECREF(table);
    Py_DECREF(snap);
    PyObject *out = result(uniq, &s);
    slots_free(&s);
    return out;
}

static PyObject *
make_pair(PyObject *a, PyObject *b)
{
    return PyTuple_Pack(2, a, b);
}

static PyObject *
columns_pair_spans(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyList_Check(args[0]) || !PyList_Check(args[1]) ||
        PyList_GET_SIZE(args[0]) != PyList_GET_SIZE(args[1])) {
        PyErr_SetString(PyExc_TypeError, "pair_spans(a, b): two lists of the same length");
        return NULL;
    }
    /* Snapshots: a key's __hash__/__eq__ (or a finalizer) may change the lists. */
    PyObject *a = PySequence_Tuple(args[0]);
    PyObject *b = a ? PySequence_Tuple(args[1]) : NULL;
    if (b == NULL) {
        Py_XDECREF(a);
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(a);
    Slots s;
    PyObject *outer = PyDict_New(); /* a -> {b -> slot} */
    PyObject *uniq = PyList_New(0);
    if (outer == NULL || uniq == NULL || slots_init(&s, n) < 0) {
        Py_XDECREF(outer);
        Py_XDECREF(uniq);
        Py_DECREF(a);
        Py_DECREF(b);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *ka = PyTuple_GET_ITEM(a, i);
        PyObject *inner = PyDict_GetItemWithError(outer, ka);
        if (inner == NULL) {
            if (PyErr_Occurred())
                goto error;
            inner = PyDict_New();
            if (inner == NULL)
                goto error;
            int rc = PyDict_SetItem(outer, ka, inner);
            Py_DECREF(inner); /* the outer dict holds it */
            if (rc < 0)
                goto error;
        }
        if (observe(inner, PyTuple_GET_ITEM(b, i), i, &s, uniq, make_pair, ka) < 0)
            goto error;
    }
    Py_DECREF(outer);
    Py_DECREF(a);
    Py_DECREF(b);
    PyObject *out = result(uniq, &s);
    slots_free(&s);
    return out;
error:
    Py_DECREF(outer);
    Py_DECREF(uniq);
    Py_DECREF(a);
    Py_DECREF(b);
    slots_free(&s);
    return NULL;
}


/* ------------------------------------------------------------------ state merges */

/* The state of `key`: the delta map's entry, else base_get(key) (None: missing). A new
 * reference, Py_None when missing, NULL on error. */
static PyObject *
state_of(PyObject *m, PyObject *base_get, PyObject *deleted, PyObject *key)
{
    PyObject *cur = PyDict_GetItemWithError(m, key);
    if (cur != NULL)
        return Py_NewRef(cur);
    if (PyErr_Occurred())
        return NULL;
    if (base_get == Py_None)
        return Py_NewRef(Py_None);
    if (deleted != NULL && PySet_GET_SIZE(deleted) > 0) {
        int gone = PySet_Contains(deleted, key);
        if (gone < 0)
            return NULL;
        if (gone)
            return Py_NewRef(Py_None);
    }
    return PyObject_CallOneArg(base_get, key);
}

static int
check_lists(const char *what, PyObject *const *lists, int n, Py_ssize_t *size)
{
    for (int i = 0; i < n; i++) {
        if (!PyList_Check(lists[i])) {
            PyErr_Format(PyExc_TypeError, "%s: arguments must be lists", what);
            return -1;
        }
    }
    *size = PyList_GET_SIZE(lists[0]);
    return 0;
}

static PyObject *
columns_merge_ranges(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs < 7 || nargs > 8 || !PyDict_Check(args[0]) || !PySet_Check(args[6]) ||
        (nargs == 8 && !PyTuple_Check(args[7]))) {
        PyErr_SetString(PyExc_TypeError, "merge_ranges(m: dict, base_get, keys, ts, firsts, "
                                         "lasts, dirty: set, tail: tuple = ())");
        return NULL;
    }
    PyObject *m = args[0], *base_get = args[1], *dirty = args[6];
    PyObject *tail = nargs == 8 ? args[7] : NULL;
    Py_ssize_t extra = tail == NULL ? 0 : PyTuple_GET_SIZE(tail);
    PyObject *lists[4] = {args[2], args[3], args[4], args[5]};
    Py_ssize_t n;
    if (check_lists("merge_ranges", lists, 4, &n) < 0)
        return NULL;
    PyObject *keys = args[2], *ts = args[3], *firsts = args[4], *lasts = args[5];
    Py_ssize_t nts = PyList_GET_SIZE(ts);
    if (PyList_GET_SIZE(firsts) != n || PyList_GET_SIZE(lasts) != n) {
        PyErr_SetString(PyExc_ValueError, "merge_ranges: keys, firsts and lasts differ in length");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *key = PyList_GET_ITEM(keys, i);
        Py_ssize_t fi = PyLong_AsSsize_t(PyList_GET_ITEM(firsts, i));
        Py_ssize_t li = PyLong_AsSsize_t(PyList_GET_ITEM(lasts, i));
        if ((fi == -1 || li == -1) && PyErr_Occurred())
            return NULL;
        if (fi < 0 || fi >= nts || li < 0 || li >= nts) {
            PyErr_SetString(PyExc_IndexError, "merge_ranges: a first/last index is out of range");
            return NULL;
        }
        PyObject *lo = PyList_GET_ITEM(ts, fi), *hi = PyList_GET_ITEM(ts, li);
        PyObject *cur = state_of(m, base_get, NULL, key);
        if (cur == NULL)
            return NULL;
        int changed = 0;
        if (cur == Py_None) {
            Py_DECREF(cur);
            cur = PyList_New(2 + extra);
            if (cur == NULL)
                return NULL;
            PyList_SET_ITEM(cur, 0, Py_NewRef(lo));
            PyList_SET_ITEM(cur, 1, Py_NewRef(hi));
            for (Py_ssize_t j = 0; j < extra; j++)
                PyList_SET_ITEM(cur, 2 + j, Py_NewRef(PyTuple_GET_ITEM(tail, j)));
            changed = 1;
        }
        else {
            PyObject *old_lo = PySequence_GetItem(cur, 0), *old_hi = NULL;
            int below = -1, above = -1;
            if (old_lo != NULL && (old_hi = PySequence_GetItem(cur, 1)) != NULL) {
                below = PyObject_RichCompareBool(lo, old_lo, Py_LT);
                above = below < 0 ? -1 : PyObject_RichCompareBool(hi, old_hi, Py_GT);
            }
            Py_XDECREF(old_lo);
            Py_XDECREF(old_hi);
            if (below < 0 || above < 0 || (below && PySequence_SetItem(cur, 0, lo) < 0) ||
                (above && PySequence_SetItem(cur, 1, hi) < 0)) {
                Py_DECREF(cur);
                return NULL;
            }
            changed = below || above;
        }
        if (changed && (PyObject_SetItem(m, key, cur) < 0 || PySet_Add(dirty, key) < 0)) {
            Py_DECREF(cur);
            return NULL;
        }
        Py_DECREF(cur);
    }
    Py_RETURN_NONE;
}

static PyObject *
columns_add_counts(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 6 || !PyDict_Check(args[0]) || !PyAnySet_Check(args[2]) ||
        !PySet_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError,
                        "add_counts(m: dict, base_get, deleted: set, keys, counts, dirty: set)");
        return NULL;
    }
    PyObject *m = args[0], *base_get = args[1], *deleted = args[2], *dirty = args[5];
    PyObject *lists[2] = {args[3], args[4]};
    Py_ssize_t n;
    if (check_lists("add_counts", lists, 2, &n) < 0)
        return NULL;
    PyObject *keys = args[3], *counts = args[4];
    if (PyList_GET_SIZE(counts) != n) {
        PyErr_SetString(PyExc_ValueError, "add_counts: keys and counts differ in length");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *key = PyList_GET_ITEM(keys, i), *count = PyList_GET_ITEM(counts, i);
        PyObject *old = state_of(m, base_get, deleted, key);
        if (old == NULL)
            return NULL;
        PyObject *total = old == Py_None ? Py_NewRef(count) : PyNumber_Add(old, count);
        Py_DECREF(old);
        if (total == NULL)
            return NULL;
        int rc = PyObject_SetItem(m, key, total);
        Py_DECREF(total);
        if (rc < 0 || PySet_Add(dirty, key) < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef columns_methods[] = {
    {"spans", (PyCFunction)columns_spans, METH_O,
     "spans(keys) -> (distinct keys in first-occurrence order, first index, last index, "
     "count)"},
    {"pair_spans", (PyCFunction)(void (*)(void))columns_pair_spans, METH_FASTCALL,
     "pair_spans(a, b) -> spans of the keys (a[i], b[i]), the distinct keys as tuples"},
    {"merge_ranges", (PyCFunction)(void (*)(void))columns_merge_ranges, METH_FASTCALL,
     "merge_ranges(m, base_get, keys, ts, firsts, lasts, dirty, tail=()): see "
     "ingest/columns.py"},
    {"add_counts", (PyCFunction)(void (*)(void))columns_add_counts, METH_FASTCALL,
     "add_counts(m, base_get, deleted, keys, counts, dirty): see ingest/columns.py"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef columns_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ingest._columns",
    .m_doc = "Group-by kernels for columnar operators (see ingest/_columns.c).",
    .m_size = -1,
    .m_methods = columns_methods,
};

PyMODINIT_FUNC
PyInit__columns(void)
{
    return PyModule_Create(&columns_module);
}
