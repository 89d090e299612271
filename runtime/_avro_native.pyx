# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled readers' executor in C: a schema plan (a tree of `Node`s) walked over the bytes.

`avro_reader.plan` builds the tree from a schema once; `Node.__call__(b, p)` reads a record with
it. It reads exactly what the generated Python reader reads and refuses what that refuses
(lengths, varints past 64 bits, invalid UTF-8, union and enum indexes, int ranges), raising
ValueError, so the codec's fastavro fallback decides as before. Kept to the one job that
dominated the processors' time: stepping through Avro bytes is a few instructions a field in C
and a few dozen bytecodes in Python.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_SetItem
from cpython.list cimport PyList_Append
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy

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


from socialstream.runtime.avro_compiler import Mismatch


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

    def __init__(self, int kind, tuple children=(), tuple names=(), tuple built=(),
                 tuple symbols=(), Py_ssize_t size=0, object to_time=None):
        self.kind = kind
        self.children = children
        self.names = names
        self.built = built
        self.symbols = symbols
        self.size = size
        self.to_time = to_time

    def __call__(self, bytes b not None, Py_ssize_t p):
        cdef Reader r
        r.data = <const unsigned char*>PyBytes_AS_STRING(b)
        r.end = PyBytes_GET_SIZE(b)
        r.pos = p
        if p < 0 or p > r.end:
            raise Mismatch("start")
        return read(self, &r, True)


cdef struct Reader:
    const unsigned char* data
    Py_ssize_t pos
    Py_ssize_t end


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
        return read(<Node>node.children[byte >> 1], r, build)
    if kind == K_NULL:
        return None
    if kind == K_RECORD:
        if build:
            result = {}
            for i in range(len(node.children)):
                if node.built[i]:
                    PyDict_SetItem(result, node.names[i], read(<Node>node.children[i], r, True))
                else:
                    read(<Node>node.children[i], r, False)
            return result
        for i in range(len(node.children)):
            read(<Node>node.children[i], r, False)
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
        return node.to_time(n) if build else None
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
        child = <Node>node.children[0]
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
        return result
    raise Mismatch(f"node kind {kind}")
