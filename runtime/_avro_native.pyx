# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled Avro readers' and writers' executor in C: a schema plan (a tree of `Node`s).

`avro_reader` and `avro_writer` build the tree from a schema once. `Node.__call__(b, p)` reads a
record with it, `Encoder.__call__(record)` writes one. Each does exactly what the generated
Python does and refuses what that refuses (lengths, varints past 64 bits, invalid UTF-8, union
and enum indexes, int ranges, values of a type not exactly the one expected), so the codec's
fastavro fallback decides as before. Stepping through Avro bytes is a few instructions a field
in C and a few dozen bytecodes in Python: it was most of the processors' time.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItemWithError, PyDict_Next, PyDict_SetItem
from cpython.list cimport PyList_Append
from cpython.long cimport PyLong_AsLongLong
from cpython.object cimport PyObject
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.math cimport isinf
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy

from socialstream.runtime._avro_out cimport Out, close_out, open_out, put, put_long, put_text

# Node kinds: avro_reader.KINDS gives the same numbers by name.
cdef enum:
    K_NULL = 0
    K_BOOLEAN = 1
    K_INT = 2
    K_LONG = 3
    K_FLOAT = 4
    K_DOUBLE = 5
    K_BYTES = 6
    K_STRING = 7
    K_TIMESTAMP = 8
    K_ENUM = 9
    K_FIXED = 10
    K_ARRAY = 11
    K_MAP = 12
    K_RECORD = 13
    K_UNION = 14


import sys

from socialstream.runtime.avro_compiler import Mismatch

if sys.byteorder != "little":  # floats are copied as they lie in memory; Avro's are little-endian
    raise ImportError("the Avro executor assumes a little-endian machine: generated Python serves")

# Records, arrays and maps nested deeper than this are refused (the codec then asks fastavro),
# as Python's recursion limit refuses them in the generated code: a recursive schema must not
# let hostile bytes or values run the C stack out.
cdef int MAX_DEPTH = 500


cdef class Node:
    """One schema node: its kind, children (items, values, branches or fields), the names of a
    record's fields and which of them are built (the others are checked and stepped over)."""

    cdef readonly int kind
    cdef public tuple children
    cdef public tuple names
    cdef public tuple built
    cdef public tuple symbols
    cdef public Py_ssize_t size
    cdef public object to_time
    cdef public tuple defaults  # writing: a record field's value when the record lacks it
    cdef public tuple branches  # writing: a union's branch for each of UNION_TYPES, -1: none
    cdef public dict indexes  # writing: an enum's symbol -> index

    def __init__(self, int kind, tuple children=(), tuple names=(), tuple built=(),
                 tuple symbols=(), Py_ssize_t size=0, object to_time=None,
                 tuple defaults=(), tuple branches=(), dict indexes=None):
        self.kind = kind
        self.children = children
        self.names = names
        self.built = built
        self.symbols = symbols
        self.size = size
        self.to_time = to_time
        self.defaults = defaults
        self.branches = branches
        self.indexes = indexes if indexes is not None else {}

    def __call__(self, bytes b not None, Py_ssize_t p):
        cdef Reader r
        r.data = <const unsigned char*>PyBytes_AS_STRING(b)
        r.end = PyBytes_GET_SIZE(b)
        r.pos = p
        r.depth = 0
        if p < 0 or p > r.end:
            raise Mismatch("start")
        return read(self, &r, True)


cdef struct Reader:
    const unsigned char* data
    Py_ssize_t pos
    Py_ssize_t end
    int depth


cdef int64_t read_long(Reader* r) except? -1:
    cdef uint64_t n = 0
    cdef int shift = 0
    cdef unsigned char byte
    while True:
        if r.pos >= r.end:
            raise Mismatch("length")
        byte = r.data[r.pos]
        r.pos += 1
        if shift == 63 and byte > 1:
            raise Mismatch("varint past 64 bits")
        n |= (<uint64_t>(byte & 0x7F)) << shift
        if byte < 0x80:
            break
        shift += 7
        if shift > 63:
            raise Mismatch("varint longer than 10 bytes")
    return <int64_t>((n >> 1) ^ (-(n & 1)))


cdef inline Py_ssize_t sized(Reader* r) except -1:
    """A length, checked against what is left; the position of its bytes."""
    cdef int64_t n = read_long(r)
    cdef Py_ssize_t start = r.pos
    if n < 0 or n > r.end - r.pos:
        raise Mismatch("length")
    r.pos += <Py_ssize_t>n
    return start


cdef int64_t block_count(Reader* r) except? -1:
    cdef int64_t count = read_long(r)
    if count < 0:
        if count == INT64_MIN_VALUE:
            raise Mismatch("count")
        count = -count
        read_long(r)
    if count > r.end - r.pos:
        raise Mismatch("count")
    return count


cdef int64_t INT64_MIN_VALUE = -9223372036854775807 - 1


cdef inline int enter(int* depth) except -1:
    depth[0] += 1
    if depth[0] > MAX_DEPTH:
        raise Mismatch("nested too deep")
    return 0


cdef object read(Node node, Reader* r, bint build):
    """The value of `node` at the reader's position (None when not `build`), advancing it."""
    cdef int kind = node.kind
    cdef int64_t n, count, i
    cdef Py_ssize_t start
    cdef unsigned char byte
    cdef double d
    cdef float f
    cdef Node child
    cdef object result, key
    if kind == K_STRING:
        start = sized(r)
        text = PyUnicode_DecodeUTF8(<const char*>r.data + start, r.pos - start, NULL)
        return text if build else None
    if kind == K_LONG:
        n = read_long(r)
        return n if build else None
    if kind == K_UNION:
        if r.pos >= r.end:
            raise Mismatch("length")
        byte = r.data[r.pos]
        r.pos += 1
        if byte & 1 or (byte >> 1) >= len(node.children):
            raise Mismatch("union index")
        return read(<Node?>node.children[byte >> 1], r, build)
    if kind == K_NULL:
        return None
    if kind == K_RECORD:
        count = len(node.children)
        if len(node.names) != count or len(node.built) != count:
            raise Mismatch("plan")
        enter(&r.depth)
        if build:
            result = {}
            for i in range(count):
                if node.built[i]:
                    PyDict_SetItem(result, node.names[i], read(<Node?>node.children[i], r, True))
                else:
                    read(<Node?>node.children[i], r, False)
            r.depth -= 1
            return result
        for i in range(count):
            read(<Node?>node.children[i], r, False)
        r.depth -= 1
        return None
    if kind == K_INT:
        n = read_long(r)
        if n < -2147483648 or n > 2147483647:
            raise Mismatch("int")
        return n if build else None
    if kind == K_BOOLEAN:
        if r.pos >= r.end:
            raise Mismatch("length")
        byte = r.data[r.pos]
        r.pos += 1
        if byte > 1:
            raise Mismatch("boolean")
        return (byte == 1) if build else None
    if kind == K_TIMESTAMP:
        n = read_long(r)
        if not build:
            return None
        return n if node.to_time is None else node.to_time(n)
    if kind == K_BYTES:
        start = sized(r)
        return PyBytes_FromStringAndSize(<const char*>r.data + start, r.pos - start) if build else None
    if kind == K_DOUBLE or kind == K_FLOAT:
        start = 8 if kind == K_DOUBLE else 4
        if r.end - r.pos < start:
            raise Mismatch("length")
        if kind == K_DOUBLE:
            memcpy(&d, r.data + r.pos, 8)
        else:
            memcpy(&f, r.data + r.pos, 4)
            d = f
        r.pos += start
        return d if build else None
    if kind == K_ENUM:
        n = read_long(r)
        if n < 0 or n >= len(node.symbols):
            raise Mismatch("enum")
        return node.symbols[n] if build else None
    if kind == K_FIXED:
        if r.end - r.pos < node.size:
            raise Mismatch("fixed")
        r.pos += node.size
        return PyBytes_FromStringAndSize(<const char*>r.data + r.pos - node.size, node.size) if build else None
    if kind == K_ARRAY or kind == K_MAP:
        if len(node.children) != 1:
            raise Mismatch("plan")
        child = <Node?>node.children[0]
        enter(&r.depth)
        result = ([] if kind == K_ARRAY else {}) if build else None
        while True:
            count = block_count(r)
            if count == 0:
                break
            for i in range(count):
                if kind == K_MAP:
                    start = sized(r)
                    key = PyUnicode_DecodeUTF8(<const char*>r.data + start, r.pos - start, NULL)
                    if build:
                        PyDict_SetItem(result, key, read(child, r, True))
                    else:
                        read(child, r, False)
                elif build:
                    PyList_Append(result, read(child, r, True))
                else:
                    read(child, r, False)
        r.depth -= 1
        return result
    raise Mismatch(f"node kind {kind}")


# --- writing ------------------------------------------------------------------------------

UNION_TYPES = (type(None), bool, int, float, str, bytes, list, dict)  # `branches` order


cdef int union_slot(object value):
    """The index of `value`'s exact type in UNION_TYPES, -1 for any other."""
    cdef type kind = type(value)
    if value is None:
        return 0
    if kind is bool:
        return 1
    if kind is int:
        return 2
    if kind is float:
        return 3
    if kind is str:
        return 4
    if kind is bytes:
        return 5
    if kind is list:
        return 6
    if kind is dict:
        return 7
    return -1


cdef int write(Node node, object value, Out* o) except -1:
    """Append `value` as `node`'s type, or raise Mismatch (or what Python would raise)."""
    cdef int kind = node.kind
    cdef int slot, branch
    cdef Py_ssize_t i, position, count
    cdef double d
    cdef float f
    cdef char byte
    cdef PyObject* found
    cdef PyObject* key
    cdef PyObject* item
    if kind == K_STRING:
        if type(value) is not str:
            raise Mismatch("string")
        return put_text(o, value)
    if kind == K_UNION:
        if len(node.branches) != 8:
            raise Mismatch("plan")
        slot = union_slot(value)
        branch = node.branches[slot] if slot >= 0 else -1
        if branch < 0 or branch >= len(node.children):
            raise Mismatch("union")
        put_long(o, branch)
        return write(<Node?>node.children[branch], value, o)
    if kind == K_LONG:
        if type(value) is not int:
            raise Mismatch("long")
        return put_long(o, PyLong_AsLongLong(value))
    if kind == K_RECORD:
        if type(value) is not dict:
            raise Mismatch("record")
        count = len(node.children)
        if len(node.names) != count or len(node.defaults) != count:
            raise Mismatch("plan")
        enter(&o.depth)
        for i in range(count):
            found = PyDict_GetItemWithError(value, node.names[i])
            write(<Node?>node.children[i],
                  <object>found if found != NULL else node.defaults[i], o)
        o.depth -= 1
        return 0
    if kind == K_NULL:
        if value is not None:
            raise Mismatch("null")
        return 0
    if kind == K_INT:
        if type(value) is not int or not -2147483648 <= value <= 2147483647:
            raise Mismatch("int")
        return put_long(o, PyLong_AsLongLong(value))
    if kind == K_BOOLEAN:
        if value is True:
            byte = 1
        elif value is False:
            byte = 0
        else:
            raise Mismatch("boolean")
        return put(o, &byte, 1)
    if kind == K_DOUBLE:
        if type(value) is not float:
            raise Mismatch("double")
        d = value
        return put(o, <char*>&d, 8)
    if kind == K_FLOAT:
        if type(value) is not float:
            raise Mismatch("float")
        d = value
        f = <float>d
        if isinf(f) and not isinf(d):
            raise OverflowError("float too large to pack with f format")
        return put(o, <char*>&f, 4)
    if kind == K_BYTES:
        if type(value) is not bytes:
            raise Mismatch("bytes")
        put_long(o, PyBytes_GET_SIZE(value))
        return put(o, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
    if kind == K_ENUM:
        index = node.indexes.get(value) if type(value) is str else None
        if index is None:
            raise Mismatch("enum")
        return put_long(o, <int64_t>index)
    if kind == K_FIXED:
        if type(value) is not bytes or PyBytes_GET_SIZE(value) != node.size:
            raise Mismatch("fixed")
        return put(o, PyBytes_AS_STRING(value), node.size)
    if kind == K_ARRAY:
        if type(value) is not list:
            raise Mismatch("array")
        if len(node.children) != 1:
            raise Mismatch("plan")
        enter(&o.depth)
        if len(value):
            put_long(o, len(value))
            for element in value:
                write(<Node?>node.children[0], element, o)
        o.depth -= 1
        return put_long(o, 0)
    if kind == K_MAP:
        if type(value) is not dict:
            raise Mismatch("map")
        if len(node.children) != 1:
            raise Mismatch("plan")
        enter(&o.depth)
        if len(value):
            put_long(o, len(value))
            position = 0
            while PyDict_Next(value, &position, &key, &item):
                if type(<object>key) is not str:
                    raise Mismatch("map key")
                put_text(o, <object>key)
                write(<Node?>node.children[0], <object>item, o)
        o.depth -= 1
        return put_long(o, 0)
    raise Mismatch(f"node kind {kind}")


cdef class Encoder:
    """Writes records of one schema: the root `Node` of its plan, called with a record."""

    cdef Node root

    def __init__(self, Node root not None):
        self.root = root

    def __call__(self, record):
        cdef Out o
        if type(record) is not dict:
            raise Mismatch("record")
        open_out(&o, 512)
        try:
            write(self.root, record, &o)
            return PyBytes_FromStringAndSize(o.data, o.length)
        finally:
            close_out(&o)
