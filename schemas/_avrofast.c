/*
 * schemas._avrofast: a native Avro binary decoder for flat records.
 *
 * Decoding is the stream job's hot path: the generated pure-Python decoder in
 * schemas/_avro_decode.py costs about 5-6 us per ~170-byte member event, most of
 * a job's per-event budget. This module decodes the same records about six times
 * faster. It covers what the member-interaction schemas use: a record of null,
 * boolean, int/long, float, double, bytes, string and enum fields, and unions
 * of those. Anything else is left to the Python decoders (the compiler in
 * _avro_decode.py returns None for such schemas).
 *
 * It is optimistic like the generated decoder: on any malformed input it raises
 * Fail without saying why, and the caller decodes that message again with the
 * careful walker, which names the field and the problem. Tests check it against
 * both the careful walker and fastavro, byte for byte, on valid and mangled data.
 *
 * Decoder(fields)
 *   fields: tuple of (name: str, leaf) or (name: str, ("union", (leaf, ...)))
 *   leaf:   kind (int) or (KIND_ENUM, symbols: tuple[str, ...])
 * Decoder.decode(data, pos=0) -> dict            the whole of data is one record
 * Decoder.decode_many(messages, header=b"")      -> (records, failed indexes)
 * Decoder.decode_block(data, pos, count)         -> (records, pos after the last)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

enum {
    K_NULL = 0,
    K_BOOLEAN = 1,
    K_LONG = 2,
    K_FLOAT = 3,
    K_DOUBLE = 4,
    K_BYTES = 5,
    K_STRING = 6,
    K_ENUM = 7,
};

typedef struct {
    int kind;
    PyObject **symbols; /* borrowed from the `symbols` tuple kept in Leaf.owner */
    Py_ssize_t nsymbols;
    PyObject *owner;
} Leaf;

typedef struct {
    PyObject *name;
    Leaf leaf;         /* when nbranches == 0 */
    Leaf *branches;    /* a union's branches */
    Py_ssize_t nbranches;
} Field;

typedef struct {
    PyObject_HEAD
    Py_ssize_t nfields;
    Field *fields;
} Decoder;

typedef struct {
    const unsigned char *p;
    const unsigned char *end;
} Cursor;

static PyObject *Fail; /* schemas._avrofast.Fail(ValueError) */

/* Reads a zig-zag varint; 0 on success, -1 on truncation or more than 64 bits. */
static inline int
read_long(Cursor *c, long long *out)
{
    const unsigned char *p = c->p;
    if (p < c->end && *p < 0x80) { /* one byte: the common case */
        unsigned int b = *p;
        c->p = p + 1;
        *out = (long long)(b >> 1) ^ -(long long)(b & 1);
        return 0;
    }
    unsigned long long n = 0;
    int shift = 0;
    unsigned int b;
    do {
        if (p >= c->end || shift > 63)
            return -1;
        b = *p++;
        if (shift == 63 && (b & 0x7E))
            return -1; /* does not fit in 64 bits */
        n |= (unsigned long long)(b & 0x7F) << shift;
        shift += 7;
    } while (b & 0x80);
    c->p = p;
    *out = (long long)(n >> 1) ^ -(long long)(n & 1);
    return 0;
}

/* A new reference, or NULL (an exception may or may not be set). */
static PyObject *
read_leaf(const Leaf *leaf, Cursor *c)
{
    long long n;
    switch (leaf->kind) {
    case K_STRING:
    case K_BYTES: {
        if (read_long(c, &n) < 0 || n < 0 || n > c->end - c->p)
            return NULL;
        const char *start = (const char *)c->p;
        c->p += n;
        if (leaf->kind == K_STRING)
            return PyUnicode_DecodeUTF8(start, (Py_ssize_t)n, NULL);
        return PyBytes_FromStringAndSize(start, (Py_ssize_t)n);
    }
    case K_LONG:
        if (read_long(c, &n) < 0)
            return NULL;
        return PyLong_FromLongLong(n);
    case K_ENUM:
        if (read_long(c, &n) < 0 || n < 0 || n >= leaf->nsymbols)
            return NULL;
        Py_INCREF(leaf->symbols[n]);
        return leaf->symbols[n];
    case K_BOOLEAN: {
        if (c->p >= c->end || *c->p > 1)
            return NULL;
        PyObject *v = *c->p++ ? Py_True : Py_False;
        Py_INCREF(v);
        return v;
    }
    case K_NULL:
        Py_RETURN_NONE;
    case K_FLOAT: {
        if (c->end - c->p < 4)
            return NULL;
        double v = PyFloat_Unpack4((const char *)c->p, 1);
        c->p += 4;
        if (v == -1.0 && PyErr_Occurred())
            return NULL;
        return PyFloat_FromDouble(v);
    }
    case K_DOUBLE: {
        if (c->end - c->p < 8)
            return NULL;
        double v = PyFloat_Unpack8((const char *)c->p, 1);
        c->p += 8;
        if (v == -1.0 && PyErr_Occurred())
            return NULL;
        return PyFloat_FromDouble(v);
    }
    }
    return NULL;
}

static PyObject *
read_record(const Decoder *d, Cursor *c)
{
#if PY_VERSION_HEX < 0x030D0000
    PyObject *record = _PyDict_NewPresized(d->nfields);
#else
    PyObject *record = PyDict_New();
#endif
    if (record == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < d->nfields; i++) {
        const Field *f = &d->fields[i];
        PyObject *value;
        if (f->nbranches == 0) {
            value = read_leaf(&f->leaf, c);
        } else {
            long long branch;
            if (read_long(c, &branch) < 0 || branch < 0 || branch >= f->nbranches)
                value = NULL;
            else
                value = read_leaf(&f->branches[branch], c);
        }
        if (value == NULL) {
            Py_DECREF(record);
            return NULL;
        }
        int rc = PyDict_SetItem(record, f->name, value);
        Py_DECREF(value);
        if (rc < 0) {
            Py_DECREF(record);
            return NULL;
        }
    }
    return record;
}

/* Turns a decoding failure into Fail, keeping MemoryError as it is. */
static void
set_fail(void)
{
    if (PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_MemoryError))
            return;
        PyErr_Clear();
    }
    PyErr_SetString(Fail, "malformed Avro record");
}

static int
is_memory_error(void)
{
    return PyErr_Occurred() && PyErr_ExceptionMatches(PyExc_MemoryError);
}

/* ---------------------------------------------------------------- methods */

static PyObject *
Decoder_decode(Decoder *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t pos = 0;
    if (nargs < 1 || nargs > 2 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "decode(data: bytes, pos: int = 0)");
        return NULL;
    }
    if (nargs == 2 && (pos = PyLong_AsSsize_t(args[1])) == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t size = PyBytes_GET_SIZE(args[0]);
    if (pos < 0 || pos > size) {
        PyErr_SetString(Fail, "offset outside the message");
        return NULL;
    }
    const unsigned char *base = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Cursor c = {base + pos, base + size};
    PyObject *record = read_record(self, &c);
    if (record != NULL && c.p != c.end) {
        Py_DECREF(record);
        record = NULL;
    }
    if (record == NULL)
        set_fail();
    return record;
}

static PyObject *
Decoder_decode_many(Decoder *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2 || (nargs == 2 && !PyBytes_Check(args[1]))) {
        PyErr_SetString(PyExc_TypeError, "decode_many(messages, header: bytes = b'')");
        return NULL;
    }
    const char *header = nargs == 2 ? PyBytes_AS_STRING(args[1]) : "";
    Py_ssize_t hsize = nargs == 2 ? PyBytes_GET_SIZE(args[1]) : 0;
    /* A snapshot: a finalizer run by an allocation below may change the caller's list. */
    PyObject *seq = PySequence_Tuple(args[0]);
    if (seq == NULL)
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(seq);
    PyObject **items = &PyTuple_GET_ITEM(seq, 0);
    PyObject *records = PyList_New(0);
    PyObject *failed = PyList_New(0);
    if (records == NULL || failed == NULL)
        goto error;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *data = items[i];
        PyObject *record = NULL;
        if (PyBytes_Check(data) && PyBytes_GET_SIZE(data) >= hsize &&
            memcmp(PyBytes_AS_STRING(data), header, (size_t)hsize) == 0) {
            const unsigned char *base = (const unsigned char *)PyBytes_AS_STRING(data);
            Cursor c = {base + hsize, base + PyBytes_GET_SIZE(data)};
            record = read_record(self, &c);
            if (record != NULL && c.p != c.end) {
                Py_DECREF(record);
                record = NULL;
            }
        }
        if (record == NULL) {
            if (is_memory_error())
                goto error;
            PyErr_Clear();
            PyObject *index = PyLong_FromSsize_t(i);
            if (index == NULL || PyList_Append(failed, index) < 0) {
                Py_XDECREF(index);
                goto error;
            }
            Py_DECREF(index);
            continue;
        }
        int rc = PyList_Append(records, record);
        Py_DECREF(record);
        if (rc < 0)
            goto error;
    }
    Py_DECREF(seq);
    return Py_BuildValue("(NN)", records, failed);
error:
    Py_DECREF(seq);
    Py_XDECREF(records);
    Py_XDECREF(failed);
    return NULL;
}

static PyObject *
Decoder_decode_block(Decoder *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t pos, count;
    if (nargs != 3 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "decode_block(data: bytes, pos: int, count: int)");
        return NULL;
    }
    if ((pos = PyLong_AsSsize_t(args[1])) == -1 && PyErr_Occurred())
        return NULL;
    if ((count = PyLong_AsSsize_t(args[2])) == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t size = PyBytes_GET_SIZE(args[0]);
    if (pos < 0 || pos > size || count < 0) {
        PyErr_SetString(PyExc_ValueError, "decode_block: pos outside data or negative count");
        return NULL;
    }
    const unsigned char *base = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Cursor c = {base + pos, base + size};
    /* `count` comes from a block header, which may be corrupt: grow the list as records
     * decode rather than trusting it for an allocation. */
    PyObject *records = PyList_New(0);
    if (records == NULL)
        return NULL;
    for (Py_ssize_t done = 0; done < count; done++) {
        const unsigned char *start = c.p;
        PyObject *record = read_record(self, &c);
        if (record == NULL) {
            if (is_memory_error()) {
                Py_DECREF(records);
                return NULL;
            }
            PyErr_Clear();
            c.p = start; /* the caller decodes from here carefully */
            break;
        }
        int rc = PyList_Append(records, record);
        Py_DECREF(record);
        if (rc < 0) {
            Py_DECREF(records);
            return NULL;
        }
    }
    return Py_BuildValue("(Nn)", records, (Py_ssize_t)(c.p - base));
}

/* ---------------------------------------------------------------- set-up */

static int
parse_leaf(PyObject *spec, Leaf *leaf)
{
    leaf->owner = NULL;
    leaf->symbols = NULL;
    leaf->nsymbols = 0;
    if (PyLong_CheckExact(spec)) {
        long kind = PyLong_AsLong(spec);
        if (kind == -1 && PyErr_Occurred())
            return -1;
        if (kind < K_NULL || kind > K_STRING) {
            PyErr_Format(PyExc_ValueError, "unknown leaf kind %ld", kind);
            return -1;
        }
        leaf->kind = (int)kind;
        return 0;
    }
    PyObject *symbols;
    long kind;
    if (!PyTuple_Check(spec)) {
        PyErr_SetString(PyExc_TypeError, "leaf must be kind or (KIND_ENUM, symbols)");
        return -1;
    }
    if (!PyArg_ParseTuple(spec, "lO!;leaf must be kind or (KIND_ENUM, symbols)", &kind,
                          &PyTuple_Type, &symbols))
        return -1;
    if (kind != K_ENUM) {
        PyErr_SetString(PyExc_ValueError, "only enum leaves carry symbols");
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(symbols); i++) {
        if (!PyUnicode_Check(PyTuple_GET_ITEM(symbols, i))) {
            PyErr_SetString(PyExc_TypeError, "enum symbols must be str");
            return -1;
        }
    }
    Py_INCREF(symbols);
    leaf->owner = symbols;
    leaf->kind = K_ENUM;
    leaf->symbols = &PyTuple_GET_ITEM(symbols, 0);
    leaf->nsymbols = PyTuple_GET_SIZE(symbols);
    return 0;
}

static void
clear_fields(Field *fields, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_XDECREF(fields[i].name);
        Py_XDECREF(fields[i].leaf.owner);
        for (Py_ssize_t b = 0; b < fields[i].nbranches; b++)
            Py_XDECREF(fields[i].branches[b].owner);
        PyMem_Free(fields[i].branches);
    }
    PyMem_Free(fields);
}

static int
parse_field(PyObject *spec, Field *f)
{
    PyObject *name, *type;
    if (!PyTuple_Check(spec)) {
        PyErr_SetString(PyExc_TypeError, "field must be (name, type)");
        return -1;
    }
    if (!PyArg_ParseTuple(spec, "UO;field must be (name, type)", &name, &type))
        return -1;
    if (!PyUnicode_CheckExact(name)) {
        PyErr_SetString(PyExc_TypeError, "field names must be exact str");
        return -1;
    }
    Py_INCREF(name);
    PyUnicode_InternInPlace(&name);
    f->name = name;
    if (PyTuple_Check(type) && PyTuple_GET_SIZE(type) == 2 &&
        PyUnicode_Check(PyTuple_GET_ITEM(type, 0)) &&
        PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(type, 0), "union") == 0) {
        PyObject *branches = PyTuple_GET_ITEM(type, 1);
        if (!PyTuple_Check(branches) || PyTuple_GET_SIZE(branches) == 0) {
            PyErr_SetString(PyExc_ValueError, "a union needs a tuple of branches");
            return -1;
        }
        Py_ssize_t n = PyTuple_GET_SIZE(branches);
        f->branches = PyMem_Calloc((size_t)n, sizeof(Leaf));
        if (f->branches == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t b = 0; b < n; b++) {
            if (parse_leaf(PyTuple_GET_ITEM(branches, b), &f->branches[b]) < 0)
                return -1;
            f->nbranches = b + 1;
        }
        return 0;
    }
    return parse_leaf(type, &f->leaf);
}

static int
Decoder_init(Decoder *self, PyObject *args, PyObject *kwds)
{
    PyObject *fields;
    static char *kwlist[] = {"fields", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!:Decoder", kwlist, &PyTuple_Type, &fields))
        return -1;
    if (self->fields != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Decoder is already initialized");
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(fields);
    Field *parsed = PyMem_Calloc((size_t)(n ? n : 1), sizeof(Field));
    if (parsed == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (parse_field(PyTuple_GET_ITEM(fields, i), &parsed[i]) < 0) {
            clear_fields(parsed, n);
            return -1;
        }
    }
    self->fields = parsed;
    self->nfields = n;
    return 0;
}

static void
Decoder_dealloc(Decoder *self)
{
    if (self->fields != NULL)
        clear_fields(self->fields, self->nfields);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Decoder_methods[] = {
    {"decode", (PyCFunction)(void (*)(void))Decoder_decode, METH_FASTCALL,
     "decode(data, pos=0) -> dict: one record filling data from pos to the end."},
    {"decode_many", (PyCFunction)(void (*)(void))Decoder_decode_many, METH_FASTCALL,
     "decode_many(messages, header=b'') -> (records, failed): each message is header + one "
     "record; failed lists the indexes of messages that did not decode."},
    {"decode_block", (PyCFunction)(void (*)(void))Decoder_decode_block, METH_FASTCALL,
     "decode_block(data, pos, count) -> (records, end): up to count records back to back "
     "from pos; fewer when one is malformed, and end is then where it starts."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject DecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "schemas._avrofast.Decoder",
    .tp_basicsize = sizeof(Decoder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Decoder(fields): a native decoder for one flat Avro record schema.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Decoder_init,
    .tp_dealloc = (destructor)Decoder_dealloc,
    .tp_methods = Decoder_methods,
};

static struct PyModuleDef avrofast_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "schemas._avrofast",
    .m_doc = "Native Avro decoder for flat records (see schemas/_avrofast.c).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__avrofast(void)
{
    if (PyType_Ready(&DecoderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&avrofast_module);
    if (m == NULL)
        return NULL;
    Fail = PyErr_NewException("schemas._avrofast.Fail", PyExc_ValueError, NULL);
    if (Fail == NULL || PyModule_AddObjectRef(m, "Fail", Fail) < 0 ||
        PyModule_AddObjectRef(m, "Decoder", (PyObject *)&DecoderType) < 0 ||
        PyModule_AddIntConstant(m, "KIND_NULL", K_NULL) < 0 ||
        PyModule_AddIntConstant(m, "KIND_BOOLEAN", K_BOOLEAN) < 0 ||
        PyModule_AddIntConstant(m, "KIND_LONG", K_LONG) < 0 ||
        PyModule_AddIntConstant(m, "KIND_FLOAT", K_FLOAT) < 0 ||
        PyModule_AddIntConstant(m, "KIND_DOUBLE", K_DOUBLE) < 0 ||
        PyModule_AddIntConstant(m, "KIND_BYTES", K_BYTES) < 0 ||
        PyModule_AddIntConstant(m, "KIND_STRING", K_STRING) < 0 ||
        PyModule_AddIntConstant(m, "KIND_ENUM", K_ENUM) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
