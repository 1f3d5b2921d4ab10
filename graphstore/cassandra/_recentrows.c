/*
 * graphstore.cassandra._recentrows: the per-row loop of a newest-first neighbor scan.
 *
 * graphstore/cassandra/recent_rows.py holds the Python reference of both functions (and
 * their documentation); tests/graphstore/test_recent_rows.py checks that the two agree on
 * generated rows. A 2-hop walk reads ~10,000 index rows: in Python this loop and the
 * ordering of its result were about half of the client's CPU.
 *
 * collect(rows, pending, ref, seen, survivors, candidates, direction, since, until, limit,
 *         max_scan, scanned, hour, cut)
 *     -> (status, pending, scanned, hour, cut)        rows: (hour, dir, et, ot, oid, edge, ...)
 * collect_keyed(the same arguments)                    rows: (edge, ...), keyed copies only
 * Both build graphstore.model.Edge objects (the class is looked up when the module loads).
 * top(edges, limit) -> the `limit` first edges, newest last_seen first, then by type, src,
 *     dst, then by position.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STOPPED 0
#define FALLBACK 1
#define RAN_OUT 2
#define UNKEYED 3
#define FIRST_SEEN_BASE ((int64_t)1 << 62)
#define HOUR_MS ((int64_t)3600000)
#define COPY_HEAD 24 /* struct ">qqq": count, FIRST_SEEN_BASE - first_seen, last_seen */

static PyObject *str_last_seen, *str_type, *str_src, *str_dst;
static PyObject *edge_cls; /* graphstore.model.Edge */

static int64_t
be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return (int64_t)v;
}

/* An optional int bound (None -> absent), clamped to int64 (last_seen is an int64). */
static int
bound(PyObject *obj, int *present, int64_t *value)
{
    int overflow = 0;
    long long v;
    *present = obj != Py_None;
    if (!*present) {
        return 0;
    }
    v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    *value = overflow > 0 ? INT64_MAX : overflow < 0 ? INT64_MIN : (int64_t)v;
    return 0;
}

static int
as_int64(PyObject *obj, int64_t *value)
{
    long long v = PyLong_AsLongLong(obj);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    *value = (int64_t)v;
    return 0;
}

static PyObject *
collected(int status, PyObject *pending, int64_t scanned, int64_t hour, int has_cut,
          int64_t cut)
{
    /* pending: a new reference or NULL (None) */
    PyObject *cut_obj;
    if (has_cut) {
        cut_obj = PyLong_FromLongLong(cut);
        if (cut_obj == NULL) {
            Py_XDECREF(pending);
            return NULL;
        }
    }
    else {
        cut_obj = Py_NewRef(Py_None);
    }
    return Py_BuildValue("(iNLLN)", status, pending != NULL ? pending : Py_NewRef(Py_None),
                         (long long)scanned, (long long)hour, cut_obj);
}

/* The Edge of a copy: ref -edge_type-> (other_type, other_id) for an out-copy, the other
 * way round for an in-copy. A new reference, or NULL on error. */
static PyObject *
make_edge(PyObject *ref, PyObject *edge_type, PyObject *other_type, PyObject *other_id,
          int is_out, int64_t first, int64_t last, int64_t count)
{
    PyObject *other = PyTuple_Pack(2, other_type, other_id), *props = PyDict_New();
    PyObject *first_o = PyLong_FromLongLong(first), *last_o = PyLong_FromLongLong(last);
    PyObject *count_o = PyLong_FromLongLong(count), *edge = NULL;
    if (other != NULL && props != NULL && first_o != NULL && last_o != NULL && count_o != NULL) {
        PyObject *argv[7] = {is_out ? ref : other, edge_type, is_out ? other : ref,
                             props,                first_o,   last_o,
                             count_o};
        edge = PyObject_Vectorcall(edge_cls, argv, 7, NULL);
    }
    Py_XDECREF(other);
    Py_XDECREF(props);
    Py_XDECREF(first_o);
    Py_XDECREF(last_o);
    Py_XDECREF(count_o);
    return edge;
}

/* The arguments both scans share, and the state they carry from row to row. */
typedef struct {
    PyObject *rows, *pending, *ref, *seen, *survivors, *candidates;
    PyObject *ref_type, *ref_id;
    int has_since, has_until, has_cut, both, want_out;
    int64_t since, until, limit, max_scan, scanned, hour, cut, found;
} Scan;

/* Parses (rows, pending, ref, seen, survivors, candidates, direction, since, until, limit,
 * max_scan, scanned, hour, cut); -1 with an exception set if they are not that. */
static int
parse_scan(const char *name, PyObject *const *args, Py_ssize_t nargs, Scan *sc)
{
    PyObject *direction;
    if (nargs != 14) {
        PyErr_Format(PyExc_TypeError, "%s() takes 14 arguments (%zd given)", name, nargs);
        return -1;
    }
    memset(sc, 0, sizeof(*sc));
    sc->rows = args[0];
    sc->pending = args[1];
    sc->ref = args[2];
    sc->seen = args[3];
    sc->survivors = args[4];
    sc->candidates = args[5];
    direction = args[6];
    if (!PyTuple_Check(sc->ref) || PyTuple_GET_SIZE(sc->ref) != 2 ||
        !PyUnicode_Check(PyTuple_GET_ITEM(sc->ref, 0)) ||
        !PyUnicode_Check(PyTuple_GET_ITEM(sc->ref, 1))) {
        PyErr_Format(PyExc_TypeError, "%s(): ref must be a (type, id) tuple of str", name);
        return -1;
    }
    if (!PySet_Check(sc->seen) || !PyList_Check(sc->survivors) ||
        !PyList_Check(sc->candidates) || !PyUnicode_Check(direction)) {
        PyErr_Format(PyExc_TypeError,
                     "%s(): seen must be a set, survivors and candidates lists, direction a str",
                     name);
        return -1;
    }
    sc->both = PyUnicode_CompareWithASCIIString(direction, "both") == 0;
    sc->want_out = PyUnicode_CompareWithASCIIString(direction, "out") == 0;
    if (!sc->both && !sc->want_out && PyUnicode_CompareWithASCIIString(direction, "in") != 0) {
        PyErr_Format(PyExc_ValueError, "%s(): direction %R is not out, in or both", name,
                     direction);
        return -1;
    }
    if (bound(args[7], &sc->has_since, &sc->since) < 0 ||
        bound(args[8], &sc->has_until, &sc->until) < 0 || as_int64(args[9], &sc->limit) < 0 ||
        as_int64(args[10], &sc->max_scan) < 0 || as_int64(args[11], &sc->scanned) < 0 ||
        as_int64(args[12], &sc->hour) < 0) {
        return -1;
    }
    sc->ref_type = PyTuple_GET_ITEM(sc->ref, 0);
    sc->ref_id = PyTuple_GET_ITEM(sc->ref, 1);
    sc->found = PyList_GET_SIZE(sc->survivors);
    if (args[13] != Py_None && sc->found >= sc->limit) { /* a cut holds while enough are found */
        if (as_int64(args[13], &sc->cut) < 0) {
            return -1;
        }
        sc->has_cut = 1;
    }
    return 0;
}

/* The scan's result for `status`; takes `pending` (a new reference, or NULL for None). */
static PyObject *
scan_result(const Scan *sc, int status, PyObject *pending)
{
    return collected(status, pending, sc->scanned, sc->hour, sc->has_cut, sc->cut);
}

/* Appends the edge unless the since/until filter drops it, then counts it and sets the cut
 * once `limit` edges are found. 0, or -1 on error. */
static int
take_edge(Scan *sc, PyObject *edge_type, PyObject *other_type, PyObject *other_id, int is_out,
          int64_t first, int64_t last, int64_t count)
{
    PyObject *edge;
    int appended;
    if ((sc->has_since && last < sc->since) || (sc->has_until && last > sc->until)) {
        return 0;
    }
    edge = make_edge(sc->ref, edge_type, other_type, other_id, is_out, first, last, count);
    if (edge == NULL) {
        return -1;
    }
    appended = PyList_Append(sc->survivors, edge);
    Py_DECREF(edge);
    if (appended < 0) {
        return -1;
    }
    sc->found += 1;
    if (!sc->has_cut && sc->found >= sc->limit) {
        sc->has_cut = 1;
        sc->cut = sc->hour;
    }
    return 0;
}

/* A key row counted without its edge (a candidate to look up). */
static void
count_candidate(Scan *sc)
{
    sc->found += 1;
    if (!sc->has_cut && sc->found >= sc->limit) {
        sc->has_cut = 1;
        sc->cut = sc->hour;
    }
}

/* Starts a row at `row_hour`: STOPPED (the row is past the cut), FALLBACK (too many rows
 * scanned) or -1 to go on. */
static int
enter_row(Scan *sc, int64_t row_hour)
{
    if (sc->has_cut && row_hour < sc->cut) {
        return STOPPED;
    }
    sc->hour = row_hour;
    sc->scanned += 1;
    return sc->scanned > sc->max_scan ? FALLBACK : -1;
}

/* Ends a scan at `row` with STOPPED (the row becomes the pending one), FALLBACK or
 * UNKEYED. Takes the iterator and the row. */
static PyObject *
stop_at(const Scan *sc, int status, PyObject *iterator, PyObject *row)
{
    Py_DECREF(iterator);
    if (status == STOPPED) {
        return scan_result(sc, STOPPED, row);
    }
    Py_DECREF(row);
    return scan_result(sc, status, NULL);
}

/* Ends a scan whose rows ran out (or whose iterator failed). Takes the iterator. */
static PyObject *
ran_out(const Scan *sc, PyObject *iterator)
{
    Py_DECREF(iterator);
    return PyErr_Occurred() ? NULL : scan_result(sc, RAN_OUT, NULL);
}

/* The next row: the pending one first. A new reference; NULL at the end (or on error). */
static PyObject *
next_row(PyObject *iterator, PyObject **pending)
{
    PyObject *row = *pending;
    if (row != NULL) {
        *pending = NULL;
        return row;
    }
    return PyIter_Next(iterator);
}

static PyObject *
collect(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Scan sc;
    PyObject *iterator, *row, *key = NULL, *pending = NULL;
    if (parse_scan("collect", args, nargs, &sc) < 0) {
        return NULL;
    }
    iterator = PyObject_GetIter(sc.rows);
    if (iterator == NULL) {
        return NULL;
    }
    if (sc.pending != Py_None) {
        pending = Py_NewRef(sc.pending);
    }
    while ((row = next_row(iterator, &pending)) != NULL) {
        PyObject *row_dir, *payload;
        int64_t row_hour;
        int is_out, is_in, contained, status;

        if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) < 6) {
            PyErr_SetString(PyExc_TypeError,
                            "collect(): rows must be tuples (hour, dir, edge_type, other_type, "
                            "other_id, edge, ...)");
            goto error;
        }
        if (as_int64(PyTuple_GET_ITEM(row, 0), &row_hour) < 0) {
            goto error;
        }
        status = enter_row(&sc, row_hour);
        if (status >= 0) {
            return stop_at(&sc, status, iterator, row);
        }
        row_dir = PyTuple_GET_ITEM(row, 1);
        is_out = PyUnicode_Check(row_dir) && PyUnicode_CompareWithASCIIString(row_dir, "out") == 0;
        is_in = PyUnicode_Check(row_dir) && PyUnicode_CompareWithASCIIString(row_dir, "in") == 0;
        if (!sc.both && !(sc.want_out ? is_out : is_in)) {
            Py_DECREF(row);
            continue;
        }
        key = PyTuple_Pack(4, row_dir, PyTuple_GET_ITEM(row, 2), PyTuple_GET_ITEM(row, 3),
                           PyTuple_GET_ITEM(row, 4));
        if (key == NULL) {
            goto error;
        }
        contained = PySet_Contains(sc.seen, key);
        if (contained < 0) {
            goto error;
        }
        if (contained) {
            goto next;
        }
        if (sc.both && is_in) { /* the in-copy of a self-loop duplicates its out-copy */
            int same_type = PyObject_RichCompareBool(PyTuple_GET_ITEM(row, 3), sc.ref_type, Py_EQ);
            int same_id = same_type > 0 ? PyObject_RichCompareBool(PyTuple_GET_ITEM(row, 4),
                                                                   sc.ref_id, Py_EQ)
                                        : same_type;
            if (same_id < 0) {
                goto error;
            }
            if (same_id) {
                goto next;
            }
        }
        if (PySet_Add(sc.seen, key) < 0) {
            goto error;
        }
        payload = PyTuple_GET_ITEM(row, 5);
        if (payload == Py_None) { /* a row from before copies: look the edge up */
            if (PyList_Append(sc.candidates, key) < 0) {
                goto error;
            }
            count_candidate(&sc);
        }
        else {
            const unsigned char *p;
            if (!PyBytes_Check(payload) || PyBytes_GET_SIZE(payload) < COPY_HEAD) {
                PyErr_Format(PyExc_ValueError,
                             "collect(): an edge copy must be at least %d bytes, got %R",
                             COPY_HEAD, payload);
                goto error;
            }
            p = (const unsigned char *)PyBytes_AS_STRING(payload);
            if (take_edge(&sc, PyTuple_GET_ITEM(row, 2), PyTuple_GET_ITEM(row, 3),
                          PyTuple_GET_ITEM(row, 4), is_out, FIRST_SEEN_BASE - be64(p + 8),
                          be64(p + 16), be64(p)) < 0) {
                goto error;
            }
        }
    next:
        Py_CLEAR(key);
        Py_DECREF(row);
    }
    return ran_out(&sc, iterator);
error:
    Py_XDECREF(key);
    Py_DECREF(row);
    Py_DECREF(iterator);
    return NULL;
}

/* ------------------------------------------------------------------ collect_keyed */

/* The next UTF-8 text of a keyed copy's key, as a new str; advances *at. */
static PyObject *
key_text(const unsigned char *p, Py_ssize_t size, Py_ssize_t *at, const char **start,
         Py_ssize_t *length)
{
    Py_ssize_t n;
    if (*at + 2 > size) {
        PyErr_SetString(PyExc_ValueError, "collect_keyed(): an edge copy's key is cut short");
        return NULL;
    }
    n = ((Py_ssize_t)p[*at] << 8) | p[*at + 1];
    *at += 2;
    if (*at + n > size) {
        PyErr_SetString(PyExc_ValueError, "collect_keyed(): an edge copy's key is cut short");
        return NULL;
    }
    *start = (const char *)p + *at;
    *length = n;
    *at += n;
    return PyUnicode_DecodeUTF8(*start, n, NULL);
}

static PyObject *
collect_keyed(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Scan sc;
    PyObject *iterator, *row, *key = NULL, *pending = NULL;
    PyObject *edge_type = NULL, *other_type = NULL, *other_id = NULL;
    const char *ref_type, *ref_id;
    Py_ssize_t ref_type_len, ref_id_len;

    if (parse_scan("collect_keyed", args, nargs, &sc) < 0) {
        return NULL;
    }
    ref_type = PyUnicode_AsUTF8AndSize(sc.ref_type, &ref_type_len);
    ref_id = PyUnicode_AsUTF8AndSize(sc.ref_id, &ref_id_len);
    if (ref_type == NULL || ref_id == NULL) {
        return NULL;
    }
    iterator = PyObject_GetIter(sc.rows);
    if (iterator == NULL) {
        return NULL;
    }
    if (sc.pending != Py_None) {
        pending = Py_NewRef(sc.pending);
    }
    while ((row = next_row(iterator, &pending)) != NULL) {
        PyObject *payload;
        const unsigned char *p;
        const char *ot_start, *oid_start, *et_start;
        Py_ssize_t size, at, ot_len, oid_len, et_len;
        int64_t last, rest;
        int is_out, contained, status;

        if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) < 1) {
            PyErr_SetString(PyExc_TypeError, "collect_keyed(): rows must be tuples (edge, ...)");
            goto error;
        }
        payload = PyTuple_GET_ITEM(row, 0);
        if (payload == Py_None ||
            (PyBytes_Check(payload) && PyBytes_GET_SIZE(payload) <= COPY_HEAD)) {
            /* a row from before keyed copies: the scan must read whole rows */
            return stop_at(&sc, UNKEYED, iterator, row);
        }
        if (!PyBytes_Check(payload)) {
            PyErr_Format(PyExc_TypeError, "collect_keyed(): an edge copy must be bytes, got %R",
                         payload);
            goto error;
        }
        p = (const unsigned char *)PyBytes_AS_STRING(payload);
        size = PyBytes_GET_SIZE(payload);
        last = be64(p + 16);
        rest = last % HOUR_MS; /* a copy sits in the hour of its last_seen */
        status = enter_row(&sc, last - (rest < 0 ? rest + HOUR_MS : rest));
        if (status >= 0) {
            return stop_at(&sc, status, iterator, row);
        }
        if (p[COPY_HEAD] > 1) {
            PyErr_Format(PyExc_ValueError, "collect_keyed(): an edge copy has direction byte %d",
                         (int)p[COPY_HEAD]);
            goto error;
        }
        is_out = p[COPY_HEAD] == 0;
        if (!sc.both && is_out != sc.want_out) {
            Py_DECREF(row);
            continue;
        }
        key = PyBytes_FromStringAndSize((const char *)p + COPY_HEAD, size - COPY_HEAD);
        if (key == NULL) {
            goto error;
        }
        contained = PySet_Contains(sc.seen, key);
        if (contained < 0) {
            goto error;
        }
        if (contained) {
            goto next;
        }
        at = COPY_HEAD + 1;
        if ((edge_type = key_text(p, size, &at, &et_start, &et_len)) == NULL ||
            (other_type = key_text(p, size, &at, &ot_start, &ot_len)) == NULL ||
            (other_id = key_text(p, size, &at, &oid_start, &oid_len)) == NULL) {
            goto error;
        }
        if (at != size) {
            PyErr_SetString(PyExc_ValueError, "collect_keyed(): an edge copy has extra bytes");
            goto error;
        }
        /* the in-copy of a self-loop duplicates its out-copy */
        if (sc.both && !is_out && ot_len == ref_type_len && oid_len == ref_id_len &&
            memcmp(ot_start, ref_type, (size_t)ot_len) == 0 &&
            memcmp(oid_start, ref_id, (size_t)oid_len) == 0) {
            goto next;
        }
        if (PySet_Add(sc.seen, key) < 0 ||
            take_edge(&sc, edge_type, other_type, other_id, is_out,
                      FIRST_SEEN_BASE - be64(p + 8), last, be64(p)) < 0) {
            goto error;
        }
    next:
        Py_CLEAR(edge_type);
        Py_CLEAR(other_type);
        Py_CLEAR(other_id);
        Py_CLEAR(key);
        Py_DECREF(row);
    }
    return ran_out(&sc, iterator);
error:
    Py_XDECREF(edge_type);
    Py_XDECREF(other_type);
    Py_XDECREF(other_id);
    Py_XDECREF(key);
    Py_DECREF(row);
    Py_DECREF(iterator);
    return NULL;
}

/* ------------------------------------------------------------------ top */

typedef struct {
    int64_t last;
    Py_ssize_t index;
    PyObject *edge; /* borrowed from the list */
} Keyed;

static int sort_failed;

/* -1, 0 or 1 as Python orders a and b (== then <, as tuple comparison does); sets
 * sort_failed on an error. */
static int
compare_attr(PyObject *a, PyObject *b, PyObject *name)
{
    PyObject *x = PyObject_GetAttr(a, name), *y = NULL;
    int result = 0, eq, lt;
    if (x == NULL || (y = PyObject_GetAttr(b, name)) == NULL) {
        goto fail;
    }
    eq = PyObject_RichCompareBool(x, y, Py_EQ);
    if (eq < 0) {
        goto fail;
    }
    if (!eq) {
        lt = PyObject_RichCompareBool(x, y, Py_LT);
        if (lt < 0) {
            goto fail;
        }
        result = lt ? -1 : 1;
    }
    Py_DECREF(x);
    Py_DECREF(y);
    return result;
fail:
    sort_failed = 1;
    Py_XDECREF(x);
    Py_XDECREF(y);
    return 0;
}

static int
keyed_order(const void *pa, const void *pb)
{
    const Keyed *a = pa, *b = pb;
    int c;
    if (a->last != b->last) {
        return a->last > b->last ? -1 : 1; /* newest first */
    }
    if (!sort_failed && (c = compare_attr(a->edge, b->edge, str_type)) != 0) {
        return c;
    }
    if (!sort_failed && (c = compare_attr(a->edge, b->edge, str_src)) != 0) {
        return c;
    }
    if (!sort_failed && (c = compare_attr(a->edge, b->edge, str_dst)) != 0) {
        return c;
    }
    return a->index < b->index ? -1 : a->index > b->index;
}

static PyObject *
top(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *edges, *result;
    Py_ssize_t n, limit, keep;
    Keyed *keyed;

    if (nargs != 2 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "top(edges: list, limit: int)");
        return NULL;
    }
    edges = args[0];
    limit = PyLong_AsSsize_t(args[1]);
    if (limit == -1 && PyErr_Occurred()) {
        return NULL;
    }
    n = PyList_GET_SIZE(edges);
    if (limit < 0) {
        limit = 0;
    }
    if (n <= 1) {
        return PyList_GetSlice(edges, 0, limit);
    }
    keyed = PyMem_Malloc((size_t)n * sizeof(Keyed));
    if (keyed == NULL) {
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *edge = PyList_GET_ITEM(edges, i);
        PyObject *last = PyObject_GetAttr(edge, str_last_seen);
        int failed = last == NULL || as_int64(last, &keyed[i].last) < 0;
        Py_XDECREF(last);
        if (failed) {
            PyMem_Free(keyed);
            return NULL;
        }
        keyed[i].index = i;
        keyed[i].edge = edge;
    }
    /* The edges are held by the list, which no comparison can change (str and tuple
     * comparisons run no Python code). */
    sort_failed = 0;
    qsort(keyed, (size_t)n, sizeof(Keyed), keyed_order);
    if (sort_failed) {
        PyMem_Free(keyed);
        return NULL;
    }
    keep = n < limit ? n : limit;
    result = PyList_New(keep);
    if (result != NULL) {
        for (Py_ssize_t i = 0; i < keep; i++) {
            PyList_SET_ITEM(result, i, Py_NewRef(keyed[i].edge));
        }
    }
    PyMem_Free(keyed);
    return result;
}

static PyMethodDef recentrows_methods[] = {
    {"collect", (PyCFunction)(void (*)(void))collect, METH_FASTCALL,
     "Scan newest-first index rows (see graphstore/cassandra/recent_rows.py)."},
    {"collect_keyed", (PyCFunction)(void (*)(void))collect_keyed, METH_FASTCALL,
     "Scan newest-first keyed copies (see graphstore/cassandra/recent_rows.py)."},
    {"top", (PyCFunction)(void (*)(void))top, METH_FASTCALL,
     "The limit first edges, newest first (see graphstore/cassandra/recent_rows.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef recentrows_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "graphstore.cassandra._recentrows",
    .m_doc = "The per-row loop of a newest-first neighbor scan (see _recentrows.c).",
    .m_size = -1,
    .m_methods = recentrows_methods,
};

PyMODINIT_FUNC
PyInit__recentrows(void)
{
    PyObject *model;
    str_last_seen = PyUnicode_InternFromString("last_seen");
    str_type = PyUnicode_InternFromString("type");
    str_src = PyUnicode_InternFromString("src");
    str_dst = PyUnicode_InternFromString("dst");
    if (str_last_seen == NULL || str_type == NULL || str_src == NULL || str_dst == NULL) {
        return NULL;
    }
    model = PyImport_ImportModule("graphstore.model");
    if (model == NULL) {
        return NULL;
    }
    edge_cls = PyObject_GetAttrString(model, "Edge");
    Py_DECREF(model);
    if (edge_cls == NULL) {
        return NULL;
    }
    return PyModule_Create(&recentrows_module);
}
