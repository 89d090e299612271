# cython: language_level=3
"""Appending Avro binary to a growing C buffer: what every compiled writer shares.

Inline, so each module that cimports it gets its own copy of these few instructions (the
codec's executor, `_avro_native.pyx`, and the Talkwalker transcoder, `_results_native.pyx`).
"""

from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL


cdef struct Out:
    char* data
    Py_ssize_t length
    Py_ssize_t capacity
    int depth


cdef inline int open_out(Out* o, Py_ssize_t capacity) except -1:
    o.capacity = capacity
    o.length = 0
    o.depth = 0
    o.data = <char*>malloc(capacity)
    if o.data == NULL:
        raise MemoryError()
    return 0


cdef inline void close_out(Out* o) noexcept:
    free(o.data)
    o.data = NULL


cdef inline int grow(Out* o, Py_ssize_t more) except -1:
    cdef Py_ssize_t wanted = o.length + more
    cdef Py_ssize_t capacity = o.capacity
    cdef char* data
    if wanted <= capacity:
        return 0
    while capacity < wanted:
        capacity *= 2
    data = <char*>realloc(o.data, capacity)
    if data == NULL:
        raise MemoryError()
    o.data = data
    o.capacity = capacity
    return 0


cdef inline int put(Out* o, const char* data, Py_ssize_t length) except -1:
    if o.length + length > o.capacity:
        grow(o, length)
    memcpy(o.data + o.length, data, length)
    o.length += length
    return 0


cdef inline int put_long(Out* o, int64_t value) except -1:
    """A zig-zag varint, as Avro writes int and long."""
    cdef uint64_t n = (<uint64_t>value << 1) ^ <uint64_t>(value >> 63)
    if o.length + 10 > o.capacity:
        grow(o, 10)
    while n >= 0x80:
        o.data[o.length] = <char>((n & 0x7F) | 0x80)
        o.length += 1
        n >>= 7
    o.data[o.length] = <char>n
    o.length += 1
    return 0


cdef inline int put_text(Out* o, object text) except -1:
    """A string's UTF-8, length first (raises UnicodeEncodeError on a lone surrogate)."""
    cdef Py_ssize_t size
    cdef const char* utf8 = PyUnicode_AsUTF8AndSize(text, &size)
    put_long(o, size)
    put(o, utf8, size)
    return 0
