# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""CT_RESULT lines straight to Avro bodies, in C: the Talkwalker source's hot path.

`Transcoder(line, timeframe_start)` gives each result's document id and the Avro body of its
`TalkwalkerResult`: the bytes the shipped schema writes for the record `fast_results` builds from
the same line (a property test holds the two equal). Decoding the line into Python objects,
building the record and then walking it again to encode it was most of the source's time a
document; here the line is parsed once, by a strict JSON parser into a flat array of nodes, and
each field is written from the node. A value of the usual type (a string, an int in range, a
finite float) is taken here; any other is made the Python object orjson would have made and given
to the very converter of `lenient` that `fast_results` calls, so the rules of leniency stay
written once. Anything it is not sure of (JSON orjson might read otherwise: numbers past 64 bits,
a key with escapes, a lone surrogate, nesting past 64 levels; another chunk type; an odd shape; a
value a converter refuses) makes it return None, and the Python paths decide.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.conversion cimport PyOS_string_to_double
from cpython.list cimport PyList_Sort
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_GET_LENGTH, PyUnicode_KIND, PyUnicode_READ
from libc.math cimport isfinite
from libc.stdint cimport int8_t, int32_t, int64_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy

from socialstream.runtime._avro_out cimport Out, close_out, open_out, put, put_long, put_text

try:  # CPython's own SHA-256: half the cost of hashlib's OpenSSL one, which looks its
    from _sha256 import sha256  # algorithm up by name on every call (3.11)
except ImportError:
    try:
        from _sha2 import sha256  # 3.12+
    except ImportError:
        from hashlib import sha256

from socialstream.runtime import lenient

cdef extern from "Python.h":
    object PyUnicode_DecodeUTF8(const char* data, Py_ssize_t size, const char* errors)

# What the bodies are written for: the canonical form's CRC-64-AVRO of talkwalker_result.avsc.
# `fast_results` uses the transcoder only while the shipped schema has this fingerprint.
LAYOUT = "8d02a6f83ee2b375"

cdef object py_to_str = lenient.to_str
cdef object py_to_int32 = lenient.to_int32
cdef object py_to_count = lenient.to_count
cdef object py_to_float = lenient.to_float
cdef object py_to_epoch_ms = lenient.to_epoch_ms
cdef object py_to_str_list = lenient.to_str_list
cdef object py_dump_extra = lenient.dump_extra

cdef int64_t EPOCH_MS_FLOOR = 100_000_000_000  # to_epoch_ms: smaller magnitudes are seconds


class Miss(Exception):
    """A shape or value the transcoder leaves to `fast_results`."""


# --- the JSON parser -------------------------------------------------------------------------

cdef enum:
    J_NULL = 0
    J_FALSE = 1
    J_TRUE = 2
    J_INT = 3
    J_FLOAT = 4
    J_STR = 5
    J_ARRAY = 6
    J_OBJECT = 7

cdef int MAX_NESTING = 64  # vendor JSON nests a dozen levels; deeper lines go to orjson
# A node costs 32 bytes, an element as small as `0,` in the line: longer lines go to orjson, whose
# Python objects cost less for such lines, so a hostile line cannot make the tape large.
cdef Py_ssize_t MAX_LINE = 1 << 20

cdef union Number:
    int64_t integer
    double real

cdef struct Node:
    int8_t kind
    int8_t escaped  # a string with backslash escapes
    int32_t start  # a string's first byte after the quote
    int32_t end  # a string's closing quote
    int32_t after  # the index of the node after this one's subtree
    int32_t count  # an array's elements, an object's members
    Number number  # J_INT: integer; J_FLOAT: real

# An object's members are its key (a J_STR node) followed by the value's subtree; an array's
# elements follow it one subtree after another. Keys with escapes are refused while parsing.

cdef struct Tape:
    const unsigned char* s
    Py_ssize_t n
    Py_ssize_t pos
    Node* nodes
    Py_ssize_t used
    Py_ssize_t capacity
    int depth


cdef Py_ssize_t new_node(Tape* t, int kind) except -1:
    cdef Node* nodes
    cdef Node* node
    if t.used == t.capacity:
        nodes = <Node*>realloc(t.nodes, 2 * t.capacity * sizeof(Node))
        if nodes == NULL:
            raise MemoryError()
        t.nodes = nodes
        t.capacity *= 2
    node = &t.nodes[t.used]
    node.kind = kind
    node.escaped = False
    node.count = 0
    t.used += 1
    return t.used - 1


cdef inline void skip_space(Tape* t) noexcept:
    cdef unsigned char c
    while t.pos < t.n:
        c = t.s[t.pos]
        if c != 32 and c != 10 and c != 13 and c != 9:
            return
        t.pos += 1


cdef int hex4(const unsigned char* s) noexcept:
    """Four hex digits' value, -1 if they are not."""
    cdef int value = 0, i
    cdef unsigned char c
    for i in range(4):
        c = s[i]
        if 48 <= c <= 57:
            value = value * 16 + c - 48
        elif 97 <= c <= 102:
            value = value * 16 + c - 87
        elif 65 <= c <= 70:
            value = value * 16 + c - 55
        else:
            return -1
    return value


cdef Py_ssize_t utf8_length(const unsigned char* s, Py_ssize_t left) noexcept:
    """The length of the well-formed UTF-8 sequence at `s` (Unicode's table 3-7), 0 if none."""
    cdef unsigned char b0 = s[0]
    cdef unsigned char low = 0x80, high = 0xBF
    cdef Py_ssize_t k, i
    if 0xC2 <= b0 <= 0xDF:
        k = 2
    elif 0xE0 <= b0 <= 0xEF:
        k = 3
        if b0 == 0xE0:
            low = 0xA0
        elif b0 == 0xED:
            high = 0x9F
    elif 0xF0 <= b0 <= 0xF4:
        k = 4
        if b0 == 0xF0:
            low = 0x90
        elif b0 == 0xF4:
            high = 0x8F
    else:
        return 0
    if left < k or not low <= s[1] <= high:
        return 0
    for i in range(2, k):
        if not 0x80 <= s[i] <= 0xBF:
            return 0
    return k


cdef inline bint plain8(const unsigned char* s) noexcept:
    """Whether eight bytes are all printable ASCII other than a quote and a backslash (SWAR:
    each test sets a byte's high bit exactly where the byte is one of those)."""
    cdef uint64_t w, ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL
    memcpy(&w, s, 8)
    cdef uint64_t quote = w ^ (0x22 * ones), backslash = w ^ (0x5C * ones)
    return ((w | ((w - 0x20 * ones) & ~w) | ((quote - ones) & ~quote)
             | ((backslash - ones) & ~backslash)) & highs) == 0


cdef extern from *:
    """
    /* plain8's test sixteen bytes at a time where SSE2 is (every x86-64): a quote, a backslash,
       or a byte below 0x20 or past 0x7F (signed: negative) sets its mask bit. */
    #if defined(__SSE2__)
    #include <emmintrin.h>
    static inline int ss_plain16(const unsigned char* s) {
        __m128i v = _mm_loadu_si128((const __m128i*)s);
        __m128i odd = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x22)),
                         _mm_cmpeq_epi8(v, _mm_set1_epi8(0x5C))),
            _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
        return _mm_movemask_epi8(odd) == 0;
    }
    #define SS_HAVE_PLAIN16 1
    #else
    static inline int ss_plain16(const unsigned char* s) { (void)s; return 0; }
    #define SS_HAVE_PLAIN16 0
    #endif
    """
    bint ss_plain16(const unsigned char* s) noexcept nogil


cdef int scan_string(Tape* t, Py_ssize_t index) noexcept:
    """A string at the quote under `pos`; 1 if it is not valid JSON (or has a lone surrogate)."""
    cdef const unsigned char* s = t.s
    cdef Py_ssize_t pos = t.pos + 1, n = t.n, k
    cdef unsigned char c
    cdef int unit, low
    cdef bint escaped = False
    t.nodes[index].start = pos
    while True:
        while pos + 16 <= n and ss_plain16(s + pos):
            pos += 16
        while pos + 8 <= n and plain8(s + pos):
            pos += 8
        while pos < n and 32 <= s[pos] < 128 and s[pos] != 34 and s[pos] != 92:
            pos += 1
        if pos >= n:
            return 1
        c = s[pos]
        if c == 34:
            break
        if c == 92:
            escaped = True
            if pos + 1 >= n:
                return 1
            c = s[pos + 1]
            if c == 117:  # \uXXXX
                if pos + 6 > n:
                    return 1
                unit = hex4(s + pos + 2)
                if unit < 0 or 0xDC00 <= unit <= 0xDFFF:
                    return 1
                pos += 6
                if 0xD800 <= unit <= 0xDBFF:  # a pair's first half: the second must follow
                    if pos + 6 > n or s[pos] != 92 or s[pos + 1] != 117:
                        return 1
                    low = hex4(s + pos + 2)
                    if not 0xDC00 <= low <= 0xDFFF:
                        return 1
                    pos += 6
            elif (c == 34 or c == 92 or c == 47 or c == 98 or c == 102 or c == 110
                  or c == 114 or c == 116):  # \" \\ \/ \b \f \n \r \t
                pos += 2
            else:
                return 1
        elif c < 32:
            return 1
        else:
            k = utf8_length(s + pos, n - pos)
            if k == 0:
                return 1
            pos += k
    t.nodes[index].end = pos
    t.nodes[index].escaped = escaped
    t.pos = pos + 1
    return 0


cdef int scan_number(Tape* t, Py_ssize_t index) except -1:
    """A number per JSON's grammar: an int64, or a finite double as float() reads it; 1 if
    it is neither (JSON's or not)."""
    cdef const unsigned char* s = t.s
    cdef Py_ssize_t start = t.pos, pos = t.pos, n = t.n, digits, k
    cdef bint negative = False, integral = True
    cdef uint64_t value = 0
    cdef char text[64]
    cdef char* stop
    cdef double number
    if s[pos] == 45:
        negative = True
        pos += 1
    if pos >= n:
        return 1
    if s[pos] == 48:
        pos += 1
    elif 49 <= s[pos] <= 57:
        while pos < n and 48 <= s[pos] <= 57:
            pos += 1
    else:
        return 1
    digits = pos - start - negative
    if pos < n and s[pos] == 46:
        integral = False
        pos += 1
        if pos >= n or not 48 <= s[pos] <= 57:
            return 1
        while pos < n and 48 <= s[pos] <= 57:
            pos += 1
    if pos < n and (s[pos] == 101 or s[pos] == 69):
        integral = False
        pos += 1
        if pos < n and (s[pos] == 43 or s[pos] == 45):
            pos += 1
        if pos >= n or not 48 <= s[pos] <= 57:
            return 1
        while pos < n and 48 <= s[pos] <= 57:
            pos += 1
    t.pos = pos
    if integral:
        if digits > 19:  # nineteen digits fit an unsigned 64-bit number
            return 1
        for k in range(start + negative, pos):
            value = value * 10 + (s[k] - 48)
        if value > 9223372036854775807ULL + negative:
            return 1  # past 64 bits: orjson reads up to 2**64, json.loads any size
        t.nodes[index].kind = J_INT
        if negative:  # -(value - 1) - 1: -2**63 has no positive twin
            t.nodes[index].number.integer = -<int64_t>(value - 1) - 1 if value else 0
        else:
            t.nodes[index].number.integer = <int64_t>value
        return 0
    if pos - start >= 64:
        return 1
    memcpy(text, s + start, pos - start)
    text[pos - start] = 0
    number = PyOS_string_to_double(text, &stop, NULL)
    if stop != text + (pos - start) or not isfinite(number):
        return 1
    t.nodes[index].kind = J_FLOAT
    t.nodes[index].number.real = number
    return 0


cdef int parse_value(Tape* t) except -1:
    """One value at `pos` onto the tape; 1 if it is not JSON this parser takes."""
    cdef Py_ssize_t index, key
    cdef Py_ssize_t count = 0
    cdef unsigned char c
    skip_space(t)
    if t.pos >= t.n:
        return 1
    c = t.s[t.pos]
    if c == 34:
        index = new_node(t, J_STR)
        if scan_string(t, index):
            return 1
    elif c == 123 or c == 91:  # { [
        index = new_node(t, J_OBJECT if c == 123 else J_ARRAY)
        t.depth += 1
        if t.depth > MAX_NESTING:
            return 1
        t.pos += 1
        skip_space(t)
        if t.pos < t.n and t.s[t.pos] == c + 2:  # } ]
            t.pos += 1
        else:
            while True:
                if c == 123:
                    skip_space(t)
                    if t.pos >= t.n or t.s[t.pos] != 34:
                        return 1
                    key = new_node(t, J_STR)
                    if scan_string(t, key) or t.nodes[key].escaped:
                        return 1
                    t.nodes[key].after = t.used
                    skip_space(t)
                    if t.pos >= t.n or t.s[t.pos] != 58:
                        return 1
                    t.pos += 1
                if parse_value(t):
                    return 1
                count += 1
                skip_space(t)
                if t.pos >= t.n:
                    return 1
                if t.s[t.pos] == 44:
                    t.pos += 1
                elif t.s[t.pos] == c + 2:
                    t.pos += 1
                    break
                else:
                    return 1
        t.depth -= 1
        t.nodes[index].count = count
    elif c == 116 and t.n - t.pos >= 4 and memcmp(t.s + t.pos, b"true", 4) == 0:
        index = new_node(t, J_TRUE)
        t.pos += 4
    elif c == 102 and t.n - t.pos >= 5 and memcmp(t.s + t.pos, b"false", 5) == 0:
        index = new_node(t, J_FALSE)
        t.pos += 5
    elif c == 110 and t.n - t.pos >= 4 and memcmp(t.s + t.pos, b"null", 4) == 0:
        index = new_node(t, J_NULL)
        t.pos += 4
    elif c == 45 or 48 <= c <= 57:
        index = new_node(t, J_INT)
        if scan_number(t, index):
            return 1
    else:
        return 1
    t.nodes[index].after = t.used
    return 0


# --- values as Python objects (what orjson makes of them) ------------------------------------

cdef int unescape(Tape* t, Py_ssize_t i, Out* o) except -1:
    """A string's UTF-8, its escapes decoded (scan_string has checked them)."""
    cdef const unsigned char* s = t.s
    cdef Py_ssize_t pos = t.nodes[i].start, end = t.nodes[i].end, run
    cdef int unit
    cdef unsigned char c
    cdef char utf8[4]
    while pos < end:
        run = pos
        while run < end and s[run] != 92:
            run += 1
        put(o, <const char*>s + pos, run - pos)
        if run >= end:
            break
        c = s[run + 1]
        pos = run + 2
        if c == 117:
            unit = hex4(s + run + 2)
            pos = run + 6
            if 0xD800 <= unit <= 0xDBFF:
                unit = 0x10000 + ((unit - 0xD800) << 10) + (hex4(s + pos + 2) - 0xDC00)
                pos += 6
            if unit < 0x80:
                utf8[0] = <char>unit
                put(o, utf8, 1)
            elif unit < 0x800:
                utf8[0] = <char>(0xC0 | (unit >> 6))
                utf8[1] = <char>(0x80 | (unit & 0x3F))
                put(o, utf8, 2)
            elif unit < 0x10000:
                utf8[0] = <char>(0xE0 | (unit >> 12))
                utf8[1] = <char>(0x80 | ((unit >> 6) & 0x3F))
                utf8[2] = <char>(0x80 | (unit & 0x3F))
                put(o, utf8, 3)
            else:
                utf8[0] = <char>(0xF0 | (unit >> 18))
                utf8[1] = <char>(0x80 | ((unit >> 12) & 0x3F))
                utf8[2] = <char>(0x80 | ((unit >> 6) & 0x3F))
                utf8[3] = <char>(0x80 | (unit & 0x3F))
                put(o, utf8, 4)
        else:
            utf8[0] = <char>(8 if c == 98 else 12 if c == 102 else 10 if c == 110
                             else 13 if c == 114 else 9 if c == 116 else c)
            put(o, utf8, 1)
    return 0


cdef str text_of(Tape* t, Py_ssize_t i):
    cdef Out o
    if not t.nodes[i].escaped:
        return PyUnicode_DecodeUTF8(<const char*>t.s + t.nodes[i].start,
                                    t.nodes[i].end - t.nodes[i].start, NULL)
    open_out(&o, t.nodes[i].end - t.nodes[i].start + 1)
    try:
        unescape(t, i, &o)
        return PyUnicode_DecodeUTF8(o.data, o.length, NULL)
    finally:
        close_out(&o)


cdef object text_value(Tape* t, Py_ssize_t i):
    """lenient.to_str of node `i`, as a Python value."""
    if i >= 0 and t.nodes[i].kind == J_STR:
        value = text_of(t, i).strip()
        return value if value else None
    return py_to_str(value_of(t, i))


cdef bytes url_bytes(Tape* t, Py_ssize_t i):
    """The UTF-8 of lenient.to_str of node `i` (None: blank), as records.document_id hashes it."""
    cdef Py_ssize_t a, b
    if i >= 0 and t.nodes[i].kind == J_STR and not t.nodes[i].escaped:
        if strip_span(t.s + t.nodes[i].start, t.nodes[i].end - t.nodes[i].start, &a, &b) == 0:
            if a == b:
                return None
            return PyBytes_FromStringAndSize(<const char*>t.s + t.nodes[i].start + a, b - a)
    text = text_value(t, i)
    return text.encode("utf-8") if text else None  # a lone surrogate: UnicodeEncodeError


cdef object value_of(Tape* t, Py_ssize_t i):
    """Node `i` as the Python value orjson.loads gives (None for -1, a missing member)."""
    cdef int kind
    cdef Py_ssize_t j, k
    cdef list items
    cdef dict members
    if i < 0:
        return None
    kind = t.nodes[i].kind
    if kind == J_STR:
        return text_of(t, i)
    if kind == J_INT:
        return t.nodes[i].number.integer
    if kind == J_FLOAT:
        return t.nodes[i].number.real
    if kind == J_NULL:
        return None
    if kind == J_TRUE:
        return True
    if kind == J_FALSE:
        return False
    j = i + 1
    if kind == J_ARRAY:
        items = []
        for k in range(t.nodes[i].count):
            items.append(value_of(t, j))
            j = t.nodes[j].after
        return items
    members = {}
    for k in range(t.nodes[i].count):
        members[text_of(t, j)] = value_of(t, j + 1)  # a repeated key: the last value, as a dict
        j = t.nodes[j + 1].after
    return members


# --- an object's members by name ---------------------------------------------------------------

cdef int MAX_FIELDS = 32


cdef struct Fields:
    int count
    const char** names
    Py_ssize_t* lengths


cdef int collect(Tape* t, Py_ssize_t obj, Fields* fields, Py_ssize_t* slots,
                 list unknown) except -1:
    """The value index of each named member (the last of a repeated one; -1: absent) into
    `slots`; the key index of each other member into `unknown` (None: not wanted)."""
    cdef Py_ssize_t j = obj + 1, length, k, f
    cdef const unsigned char* key
    for f in range(fields.count):
        slots[f] = -1
    for k in range(t.nodes[obj].count):
        key = t.s + t.nodes[j].start
        length = t.nodes[j].end - t.nodes[j].start
        for f in range(fields.count):
            if fields.lengths[f] == length and memcmp(fields.names[f], key, length) == 0:
                slots[f] = j + 1
                break
        else:
            if unknown is not None:
                unknown.append(j)
        j = t.nodes[j + 1].after
    return 0


cdef class Raw:
    """A member's value left in the tape until `extra` is written from it (`json_node`): most
    unknown members are lists and objects, dear to build as Python values only to be written."""
    cdef Py_ssize_t index


cdef Raw raw(Py_ssize_t index):
    cdef Raw value = Raw.__new__(Raw)
    value.index = index
    return value


cdef dict unknown_members(Tape* t, list keys):
    """lenient.unknown_keys: the members no model field names, their values as `Raw`."""
    cdef dict found = {}
    for key in keys:
        found[text_of(t, key)] = raw(<Py_ssize_t>key + 1)
    return found


cdef object materialize(Tape* t, object value):
    """`value` with each `Raw` in it as its Python value (for dump_extra)."""
    if type(value) is Raw:
        return value_of(t, (<Raw>value).index)
    if type(value) is dict:
        return {k: materialize(t, v) for k, v in (<dict>value).items()}
    if type(value) is list:
        return [materialize(t, v) for v in <list>value]
    return value


cdef inline Py_ssize_t object_or_none(Tape* t, Py_ssize_t i) except -2:
    """lenient.object_or_none: an object's index, -1 for absent or null, else a Miss."""
    if i < 0 or t.nodes[i].kind == J_NULL:
        return -1
    if t.nodes[i].kind != J_OBJECT:
        raise Miss("not an object")
    return i


# --- the converters: the usual type here, the rest by lenient's own ----------------------------

cdef inline bint ascii_space(unsigned char c) noexcept:
    return c == 32 or 9 <= c <= 13 or 28 <= c <= 31


cdef int unicode_space_at(const unsigned char* s, Py_ssize_t length) noexcept:
    """Whether the code point at `s` is one str.strip() removes past ASCII (U+0085, U+00A0,
    U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000)."""
    cdef int cp
    if s[0] < 0x80:
        return 0
    if s[0] < 0xE0:
        cp = ((s[0] & 0x1F) << 6) | (s[1] & 0x3F)
        return cp == 0x85 or cp == 0xA0
    if s[0] < 0xF0:
        cp = ((s[0] & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F)
        return (cp == 0x1680 or 0x2000 <= cp <= 0x200A or cp == 0x2028 or cp == 0x2029
                or cp == 0x202F or cp == 0x205F or cp == 0x3000)
    return 0


cdef int strip_span(const unsigned char* s, Py_ssize_t length, Py_ssize_t* start,
                    Py_ssize_t* end) noexcept:
    """The bounds of `s.strip()` in UTF-8 `s`; 1 when an end holds whitespace past ASCII (the
    caller asks Python)."""
    cdef Py_ssize_t a = 0, b = length, last
    while a < b and ascii_space(s[a]):
        a += 1
    while b > a and ascii_space(s[b - 1]):
        b -= 1
    if a < b and s[a] >= 0x80 and unicode_space_at(s + a, b - a):
        return 1
    if a < b and s[b - 1] >= 0x80:
        last = b - 1
        while last > a and s[last] & 0xC0 == 0x80:
            last -= 1
        if unicode_space_at(s + last, b - last):
            return 1
    start[0] = a
    end[0] = b
    return 0


cdef int put_stripped(Out* o, const unsigned char* s, Py_ssize_t length, bint nullable) except -1:
    """`s.strip()` as an Avro string (nullable: ["null", "string"], None when blank); 1 when the
    ends hold whitespace past ASCII (the caller asks Python)."""
    cdef Py_ssize_t a, b
    if strip_span(s, length, &a, &b):
        return 1
    if nullable:
        if a == b:
            put_long(o, 0)
            return 0
        put_long(o, 1)
    put_long(o, b - a)
    put(o, <const char*>s + a, b - a)
    return 0


cdef int string_field(Tape* t, Py_ssize_t i, Out* o, bint nullable) except -1:
    """A string node stripped into `o`; 1: ask Python."""
    cdef Out text
    cdef int result
    if not t.nodes[i].escaped:
        return put_stripped(o, t.s + t.nodes[i].start, t.nodes[i].end - t.nodes[i].start, nullable)
    open_out(&text, t.nodes[i].end - t.nodes[i].start + 1)
    try:
        unescape(t, i, &text)
        result = put_stripped(o, <const unsigned char*>text.data, text.length, nullable)
    finally:
        close_out(&text)
    return result


cdef int decimal(char* digits, int64_t value) noexcept:
    """`value` in decimal, ending at digits[23]; returns how many characters."""
    cdef int n = 0
    cdef uint64_t magnitude = <uint64_t>(-(value + 1)) + 1 if value < 0 else <uint64_t>value
    while True:
        digits[23 - n] = <char>(48 + magnitude % 10)
        n += 1
        magnitude //= 10
        if magnitude == 0:
            break
    if value < 0:
        digits[23 - n] = 45
        n += 1
    return n


cdef int put_decimal(Out* o, int64_t value, bint nullable) except -1:
    cdef char digits[24]
    cdef int n = decimal(digits, value)
    if nullable:
        put_long(o, 1)
    put_long(o, n)
    return put(o, digits + 24 - n, n)


cdef int opt_text(Out* o, object value) except -1:
    """["null", "string"] from what a Python converter gave."""
    if value is None:
        return put_long(o, 0)
    if type(value) is not str:
        raise Miss("string")
    put_long(o, 1)
    return put_text(o, value)


cdef int to_str(Tape* t, Py_ssize_t i, Out* o) except -1:
    """["null", "string"] by lenient.to_str."""
    cdef int kind = t.nodes[i].kind if i >= 0 else J_NULL
    if kind == J_STR:
        if string_field(t, i, o, True) == 0:
            return 0
    elif kind == J_NULL:
        return put_long(o, 0)
    elif kind == J_INT:
        return put_decimal(o, t.nodes[i].number.integer, True)
    elif kind == J_TRUE:
        put_long(o, 1)
        return put_text(o, "true")
    elif kind == J_FALSE:
        put_long(o, 1)
        return put_text(o, "false")
    return opt_text(o, py_to_str(value_of(t, i)))


cdef int opt_long(Out* o, object value, bint int32) except -1:
    """["null", "long"] (or "int") from what a Python converter gave."""
    cdef int64_t n
    if value is None:
        return put_long(o, 0)
    if type(value) is not int:
        raise Miss("long")
    n = value  # OverflowError past 64 bits: Python decides
    if int32 and not -2147483648 <= n <= 2147483647:
        raise Miss("int")
    put_long(o, 1)
    return put_long(o, n)


cdef inline int put_some_long(Out* o, int64_t n) except -1:
    put_long(o, 1)
    return put_long(o, n)


cdef inline int64_t digits_value(Tape* t, Py_ssize_t i) noexcept:
    """The value of a string node of 1 to 18 ASCII digits and nothing else, as int() reads
    it ("0012" is 12); -1 for any other node (lenient's converters decide those)."""
    cdef Py_ssize_t k, start, end
    cdef int64_t value = 0
    if t.nodes[i].kind != J_STR or t.nodes[i].escaped:
        return -1
    start = t.nodes[i].start
    end = t.nodes[i].end
    if end <= start or end - start > 18:
        return -1
    for k in range(start, end):
        if not 48 <= t.s[k] <= 57:
            return -1
        value = value * 10 + (t.s[k] - 48)
    return value


cdef int to_int32(Tape* t, Py_ssize_t i, Out* o) except -1:
    """["null", "int"] by lenient.to_int32."""
    cdef int kind = t.nodes[i].kind if i >= 0 else J_NULL
    if kind == J_INT and -2147483648 <= t.nodes[i].number.integer <= 2147483647:
        return put_some_long(o, t.nodes[i].number.integer)
    if kind == J_NULL:
        return put_long(o, 0)
    cdef int64_t digits = digits_value(t, i) if kind == J_STR else -1
    if 0 <= digits <= 2147483647:  # a level as text, "30"
        return put_some_long(o, digits)
    return opt_long(o, py_to_int32(value_of(t, i)), True)


cdef int to_count(Tape* t, Py_ssize_t i, Out* o) except -1:
    """["null", "long"] by lenient.to_count."""
    cdef int kind = t.nodes[i].kind if i >= 0 else J_NULL
    if kind == J_INT:
        return put_some_long(o, t.nodes[i].number.integer)
    if kind == J_NULL:
        return put_long(o, 0)
    cdef int64_t digits = digits_value(t, i) if kind == J_STR else -1
    if digits >= 0:  # a count as text, "2476": Talkwalker's engagement, often
        return put_some_long(o, digits)
    return opt_long(o, py_to_count(value_of(t, i)), False)


cdef int to_epoch_ms(Tape* t, Py_ssize_t i, Out* o) except -1:
    """["null", timestamp-millis] by lenient.to_epoch_ms."""
    cdef int kind = t.nodes[i].kind if i >= 0 else J_NULL
    cdef int64_t n
    if kind == J_INT:
        n = t.nodes[i].number.integer
        if n >= EPOCH_MS_FLOOR or (n <= -EPOCH_MS_FLOOR and n != -9223372036854775807 - 1):
            return put_some_long(o, n)
    elif kind == J_NULL:
        return put_long(o, 0)
    return opt_long(o, py_to_epoch_ms(value_of(t, i)), False)


cdef int put_double(Out* o, double d) except -1:
    put_long(o, 1)
    return put(o, <char*>&d, 8)


cdef int to_float(Tape* t, Py_ssize_t i, Out* o) except -1:
    """["null", "double"] by lenient.to_float."""
    cdef int kind = t.nodes[i].kind if i >= 0 else J_NULL
    if kind == J_FLOAT:
        return put_double(o, t.nodes[i].number.real)
    if kind == J_INT:
        return put_double(o, <double>t.nodes[i].number.integer)
    if kind == J_NULL:
        return put_long(o, 0)
    value = py_to_float(value_of(t, i))
    if value is None:
        return put_long(o, 0)
    if type(value) is not float:
        raise Miss("double")
    return put_double(o, value)


cdef int list_item(Tape* t, Py_ssize_t i, Out* items) except -1:
    """One element of a string list (lenient.to_str_list): 1 if it is kept."""
    cdef int kind = t.nodes[i].kind
    cdef Py_ssize_t before = items.length
    if kind == J_STR:
        if string_field(t, i, items, False) == 0:
            if items.data[before] != 0:
                return 1
            items.length = before  # a zero length: blank, dropped
            return 0
        items.length = before
    elif kind == J_NULL or kind == J_OBJECT:
        return 0
    elif kind == J_INT:
        put_decimal(items, t.nodes[i].number.integer, False)
        return 1
    elif kind == J_TRUE or kind == J_FALSE:
        put_text(items, "true" if kind == J_TRUE else "false")
        return 1
    text = py_to_str(value_of(t, i))
    if not text:
        return 0
    if type(text) is not str:
        raise Miss("string")
    put_text(items, text)
    return 1


cdef int to_str_list(Tape* t, Py_ssize_t i, Out* o) except -1:
    """{"type": "array", "items": "string"} by lenient.to_str_list, in one block."""
    cdef int kind = t.nodes[i].kind if i >= 0 else J_NULL
    cdef Out items
    cdef Py_ssize_t j, k, count = 0
    if kind == J_NULL:
        return put_long(o, 0)
    if kind != J_ARRAY:  # one value: the Python converter (its blank strings include "null")
        strings = py_to_str_list(value_of(t, i))
        if strings:
            put_long(o, len(strings))
            for text in strings:
                if type(text) is not str:
                    raise Miss("string")
                put_text(o, text)
        return put_long(o, 0)
    open_out(&items, 256)
    try:
        j = i + 1
        for k in range(t.nodes[i].count):
            count += list_item(t, j, &items)
            j = t.nodes[j].after
        if count:
            put_long(o, count)
            put(o, items.data, items.length)
    finally:
        close_out(&items)
    return put_long(o, 0)


# --- `extra`: JSON as lenient.dump_extra writes it ---------------------------------------------

cdef const char* HEX = "0123456789abcdef"
cdef int JSON_DEPTH = 100  # deeper `extra`s go to dump_extra


cdef inline int put_escape(Out* o, unsigned int unit) except -1:
    cdef char text[6]
    text[0] = 92  # backslash
    text[1] = 117  # u
    text[2] = HEX[(unit >> 12) & 15]
    text[3] = HEX[(unit >> 8) & 15]
    text[4] = HEX[(unit >> 4) & 15]
    text[5] = HEX[unit & 15]
    return put(o, text, 6)


cdef int json_text(Out* o, str text) except -1:
    """A JSON string with json's ensure_ascii escapes: the two-character ones for a quote, a
    backslash, backspace, form feed, newline, return and tab, else backslash-u and four lowercase
    hex digits for anything outside space..~ (a surrogate pair past the BMP)."""
    cdef Py_ssize_t i, n = PyUnicode_GET_LENGTH(text)
    cdef unsigned int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef unsigned int c  # a code point (Cython makes a Py_UCS4 in arithmetic a str)
    cdef char byte
    put(o, '"', 1)
    for i in range(n):
        c = PyUnicode_READ(kind, data, i)
        if 32 <= c <= 126 and c != 34 and c != 92:
            byte = <char>c
            put(o, &byte, 1)
        elif c == 34:
            put(o, '\\"', 2)
        elif c == 92:
            put(o, "\\\\", 2)
        elif c == 8:
            put(o, "\\b", 2)
        elif c == 12:
            put(o, "\\f", 2)
        elif c == 10:
            put(o, "\\n", 2)
        elif c == 13:
            put(o, "\\r", 2)
        elif c == 9:
            put(o, "\\t", 2)
        elif c >= 0x10000:
            c -= 0x10000
            put_escape(o, 0xD800 | ((c >> 10) & 0x3FF))
            put_escape(o, 0xDC00 | (c & 0x3FF))
        else:
            put_escape(o, c)
    return put(o, '"', 1)


cdef int json_utf8(Out* o, const unsigned char* s, Py_ssize_t n) except -1:
    """`json_text` of valid UTF-8 with no quote, backslash or control character in it (a
    string without escapes in the tape), read straight from its bytes."""
    cdef Py_ssize_t i = 0, run
    cdef unsigned int c
    put(o, '"', 1)
    while i < n:
        run = i
        while i < n and 32 <= s[i] <= 126 and s[i] != 34 and s[i] != 92:
            i += 1
        if i > run:
            put(o, <const char*>s + run, i - run)
        if i >= n:
            break
        c = s[i]
        if c < 0x80:  # DEL (or what cannot be here unescaped)
            if c == 34 or c == 92:
                put(o, "\\", 1)
                put(o, <const char*>s + i, 1)
            else:
                put_escape(o, c)
            i += 1
        elif c < 0xE0:
            put_escape(o, ((c & 0x1F) << 6) | (s[i + 1] & 0x3F))
            i += 2
        elif c < 0xF0:
            put_escape(o, ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F))
            i += 3
        else:
            c = (((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6)
                 | (s[i + 3] & 0x3F)) - 0x10000
            put_escape(o, 0xD800 | ((c >> 10) & 0x3FF))
            put_escape(o, 0xDC00 | (c & 0x3FF))
            i += 4
    return put(o, '"', 1)


cdef int SORT_LIMIT = 32  # an object with more members is sorted by Python


cdef inline int key_order(Tape* t, Py_ssize_t a, Py_ssize_t b) noexcept:
    """memcmp order of two keys' UTF-8 (which is their code points' order, str's)."""
    cdef Py_ssize_t la = t.nodes[a].end - t.nodes[a].start, lb = t.nodes[b].end - t.nodes[b].start
    cdef int c = memcmp(t.s + t.nodes[a].start, t.s + t.nodes[b].start, la if la < lb else lb)
    if c:
        return c
    return (la > lb) - (la < lb)


cdef int json_node(Tape* t, Out* o, Py_ssize_t i, int depth) except -1:
    """Node `i` as `json_value` writes the Python value orjson reads from it, straight from
    the tape: sorted keys, the last of a repeated one."""
    cdef int kind = t.nodes[i].kind
    cdef Py_ssize_t j, k, m, n, key
    cdef Py_ssize_t members[32]  # SORT_LIMIT
    cdef char digits[24]
    cdef bytes text
    if depth > JSON_DEPTH:
        raise Miss("deep")
    if kind == J_STR:
        if t.nodes[i].escaped:
            return json_text(o, text_of(t, i))
        return json_utf8(o, t.s + t.nodes[i].start, t.nodes[i].end - t.nodes[i].start)
    if kind == J_INT:
        m = decimal(digits, t.nodes[i].number.integer)
        return put(o, digits + 24 - m, m)
    if kind == J_FLOAT:
        text = repr(t.nodes[i].number.real).encode("ascii")
        return put(o, text, len(text))
    if kind == J_NULL:
        return put(o, "null", 4)
    if kind == J_TRUE:
        return put(o, "true", 4)
    if kind == J_FALSE:
        return put(o, "false", 5)
    j = i + 1
    n = t.nodes[i].count
    if kind == J_ARRAY:
        put(o, "[", 1)
        for k in range(n):
            if k:
                put(o, ", ", 2)
            json_node(t, o, j, depth + 1)
            j = t.nodes[j].after
        return put(o, "]", 1)
    if n > SORT_LIMIT:
        return json_value(t, o, value_of(t, i), depth)
    for k in range(n):  # insertion sort, stable: a repeated key's last value is last of its run
        key = j
        m = k
        while m > 0 and key_order(t, members[m - 1], key) > 0:
            members[m] = members[m - 1]
            m -= 1
        members[m] = key
        j = t.nodes[j + 1].after
    put(o, "{", 1)
    m = 0
    for k in range(n):
        if k + 1 < n and key_order(t, members[k], members[k + 1]) == 0:
            continue
        if m:
            put(o, ", ", 2)
        m += 1
        json_utf8(o, t.s + t.nodes[members[k]].start,
                  t.nodes[members[k]].end - t.nodes[members[k]].start)
        put(o, ": ", 2)
        json_node(t, o, members[k] + 1, depth + 1)
    return put(o, "}", 1)


cdef int json_value(Tape* t, Out* o, object value, int depth) except -1:
    """`value` as json.dumps(value, sort_keys=True) writes it; Miss for what dump_extra must
    decide (a type JSON has not, a non-finite float, a key that is not a string, great depth)."""
    cdef type kind = type(value)
    cdef list keys
    cdef bytes text
    cdef bint first
    if depth > JSON_DEPTH:
        raise Miss("deep")
    if value is None:
        return put(o, "null", 4)
    if value is True:
        return put(o, "true", 4)
    if value is False:
        return put(o, "false", 5)
    if kind is Raw:
        return json_node(t, o, (<Raw>value).index, depth)
    if kind is str:
        return json_text(o, value)
    if kind is int or (kind is float and isfinite(<double>value)):
        text = repr(value).encode("ascii")
        return put(o, text, len(text))
    if kind is list:
        put(o, "[", 1)
        first = True
        for item in <list>value:
            if not first:
                put(o, ", ", 2)
            first = False
            json_value(t, o, item, depth + 1)
        return put(o, "]", 1)
    if kind is dict:
        keys = list(<dict>value)
        for key in keys:
            if type(key) is not str:
                raise Miss("key")
        PyList_Sort(keys)
        put(o, "{", 1)
        first = True
        for key in keys:
            if not first:
                put(o, ", ", 2)
            first = False
            json_text(o, key)
            put(o, ": ", 2)
            json_value(t, o, (<dict>value)[key], depth + 1)
        return put(o, "}", 1)
    raise Miss("not JSON")


cdef int put_extra(Tape* t, Out* o, dict extra) except -1:
    """The `extra` field: ["null", "string"], the JSON written straight into the body."""
    cdef Out j
    if not extra:
        return put_long(o, 0)
    open_out(&j, 256)
    try:
        try:
            json_value(t, &j, extra, 0)
        except Miss:
            return opt_text(o, py_dump_extra(materialize(t, extra)))
        put_long(o, 1)
        put_long(o, j.length)
        return put(o, j.data, j.length)
    finally:
        close_out(&j)


# --- the record ------------------------------------------------------------------------------

# Each object's members in the order their slots are used; `Transcoder` checks them against the
# field sets of `fast_results`, which stay the one list of what the models name.
cdef const char* ENVELOPE_NAMES[2]
ENVELOPE_NAMES[:] = [b"chunk_type", b"chunk_result"]
cdef const char* CHUNK_NAMES[1]
CHUNK_NAMES[:] = [b"data"]
cdef const char* BODY_NAMES[2]
BODY_NAMES[:] = [b"data", b"highlighted_data"]
cdef const char* DATA_NAMES[27]
DATA_NAMES[:] = [
    b"url", b"published", b"indexed", b"search_indexed", b"title", b"content",
    b"title_snippet", b"content_snippet", b"root_url", b"domain_url", b"host_url",
    b"parent_url", b"lang", b"sentiment", b"porn_level", b"fluency_level", b"spam_level",
    b"source_type", b"post_type", b"matched_profile", b"tags_internal", b"engagement",
    b"reach", b"article_extended_attributes", b"source_extended_attributes",
    b"extra_author_attributes", b"extra_source_attributes",
]
cdef const char* WORLD_NAMES[7]
WORLD_NAMES[:] = [
    b"continent", b"country", b"region", b"city", b"country_code", b"latitude", b"longitude",
]
cdef const char* AUTHOR_NAMES[6]
AUTHOR_NAMES[:] = [b"id", b"name", b"gender", b"image_url", b"url", b"world_data"]
cdef const char* SOURCE_NAMES[3]
SOURCE_NAMES[:] = [b"id", b"name", b"world_data"]
cdef const char* HIGHLIGHT_NAMES[3]
HIGHLIGHT_NAMES[:] = [b"title_snippet", b"content_snippet", b"matched"]
cdef const char* MATCHED_NAMES[4]
MATCHED_NAMES[:] = [b"stream_id", b"rule_id", b"panel_id", b"rule_query"]
cdef const char* ARTICLE_NAMES[1]
ARTICLE_NAMES[:] = [b"num_comments"]
cdef const char* EXTENDED_NAMES[1]
EXTENDED_NAMES[:] = [b"alexa_pageviews"]

# DATA_NAMES slots
cdef enum:
    D_URL = 0
    D_FIRST_TIME = 1  # published, indexed, search_indexed
    D_FIRST_TEXT = 4  # title .. lang
    D_FIRST_LEVEL = 13  # sentiment, porn_level, fluency_level, spam_level
    D_FIRST_LIST = 17  # source_type, post_type, matched_profile, tags_internal
    D_ENGAGEMENT = 21
    D_REACH = 22
    D_ARTICLE = 23
    D_EXTENDED = 24
    D_AUTHOR = 25
    D_SOURCE = 26


cdef class _Table:
    cdef Fields fields
    cdef Py_ssize_t lengths[32]

    cdef init(self, const char** names, int count, frozenset expected):
        if count > MAX_FIELDS:
            raise ValueError("too many fields")
        self.fields.count = count
        self.fields.names = names
        for i in range(count):
            self.lengths[i] = len(<bytes>names[i])
        self.fields.lengths = self.lengths
        if expected is not None:
            found = set()
            for i in range(count):
                found.add((<bytes>names[i]).decode())
            if found != expected:
                raise ValueError(
                    f"the transcoder names {sorted(found)}, the models {sorted(expected)}"
                )


cdef _Table table(const char** names, int count, frozenset expected):
    cdef _Table t = _Table()
    t.init(names, count, expected)
    return t


cdef inline int emit(list out, bytes key, Out* o, tuple headers, object position) except -1:
    value = PyBytes_FromStringAndSize(o.data, o.length)
    if headers is None:
        out.append((key, value))
        return 0
    cdef list record = list(headers)
    record.append(position)
    out.append((key, value, record))
    return 0


cdef bint blank(bytes line) noexcept:
    """`not line or line.isspace()`: a keep-alive."""
    cdef const unsigned char* s = <const unsigned char*>PyBytes_AS_STRING(line)
    cdef Py_ssize_t i, n = PyBytes_GET_SIZE(line)
    for i in range(n):
        if not (s[i] == 32 or 9 <= s[i] <= 13):
            return False
    return True


cdef bytes hex_digest(bytes digest):
    """`digest.hex()` as ASCII bytes."""
    cdef const unsigned char* d = <const unsigned char*>PyBytes_AS_STRING(digest)
    cdef Py_ssize_t i, n = PyBytes_GET_SIZE(digest)
    cdef bytes text = PyBytes_FromStringAndSize(NULL, 2 * n)
    cdef char* out = PyBytes_AS_STRING(text)
    for i in range(n):
        out[2 * i] = HEX[d[i] >> 4]
        out[2 * i + 1] = HEX[d[i] & 15]
    return text


cdef class Transcoder:
    """Reads CT_RESULT lines into Avro bodies; built once with the fields the models name (a
    mismatch with its own tables is a ValueError)."""

    cdef _Table envelope, chunk, body, data, world, author, source, highlight, matched
    cdef _Table article, extended

    def __init__(self, dict known not None):
        self.envelope = table(ENVELOPE_NAMES, 2, None)
        self.chunk = table(CHUNK_NAMES, 1, None)
        self.body = table(BODY_NAMES, 2, known["body"])
        self.data = table(DATA_NAMES, 27, known["data"])
        self.world = table(WORLD_NAMES, 7, known["world"])
        self.author = table(AUTHOR_NAMES, 6, known["author"])
        self.source = table(SOURCE_NAMES, 3, known["source"])
        self.highlight = table(HIGHLIGHT_NAMES, 3, known["highlight"])
        self.matched = table(MATCHED_NAMES, 4, known["matched"])
        self.article = table(ARTICLE_NAMES, 1, known["article"])
        self.extended = table(EXTENDED_NAMES, 1, known["extended"])

    def __call__(self, bytes line not None, timeframe_start, bytes header not None = b""):
        """[(document id, `header` + Avro body)] of a CT_RESULT line (`header`: the codec's
        framing, so a record's value needs no copy); None: not a line it reads."""
        cdef list out = []
        if self.transcode(line, timeframe_start, header, out):
            return None
        return [((<bytes>key).decode("ascii"), value) for key, value in out]

    def lines(self, tuple lines not None, Py_ssize_t first, timeframe_start,
              bytes header not None, bytes prefix not None, Py_ssize_t line_no,
              tuple headers not None):
        """The lines of one read from `first` on, up to the first that is not a CT_RESULT it
        reads: ([(key, `header` + Avro body, record headers)], the index of that line
        (len(lines): none), the number of the last line counted). A record's headers are
        `headers` and then `source_position`: `prefix` + its line number. Empty and
        all-whitespace lines are keep-alives: not counted, not read."""
        cdef list out = []
        cdef Py_ssize_t index, count = len(lines)
        cdef bytes line
        for index in range(first, count):
            line = <bytes>lines[index]
            if blank(line):
                continue
            line_no += 1
            position = ("source_position", prefix + str(line_no).encode("ascii"))
            if self.transcode(line, timeframe_start, header, out, headers, position):
                return out, index, line_no - 1
        return out, count, line_no

    cdef int transcode(self, bytes line, object timeframe_start, bytes header, list out,
                       tuple headers=None, object position=None) except -1:
        """Append each result of a CT_RESULT line to `out`, all or none, as (key, value) or,
        given `headers`, as (key, value, [*headers, position]); 1 when it is not a line it
        reads."""
        cdef Tape t
        cdef Out o
        cdef Py_ssize_t slots[2]
        cdef Py_ssize_t results, j, k, count, before = len(out)
        t.s = <const unsigned char*>PyBytes_AS_STRING(line)
        t.n = PyBytes_GET_SIZE(line)
        if t.n > MAX_LINE:
            return 1
        t.pos = 0
        t.used = 0
        t.depth = 0
        t.capacity = 128
        t.nodes = <Node*>malloc(t.capacity * sizeof(Node))
        if t.nodes == NULL:
            raise MemoryError()
        o.data = NULL
        try:
            if parse_value(&t):
                return 1
            skip_space(&t)
            if t.pos != t.n or t.nodes[0].kind != J_OBJECT:
                return 1
            collect(&t, 0, &self.envelope.fields, slots, None)
            if slots[0] < 0 or t.nodes[slots[0]].kind != J_STR or t.nodes[slots[0]].escaped:
                return 1
            if (t.nodes[slots[0]].end - t.nodes[slots[0]].start != 9
                    or memcmp(t.s + t.nodes[slots[0]].start, b"CT_RESULT", 9) != 0):
                return 1
            results = slots[1]
            if results < 0:
                return 1
            open_out(&o, 4096)
            if t.nodes[results].kind == J_OBJECT:
                collect(&t, results, &self.chunk.fields, slots, None)
                if slots[0] < 0 or t.nodes[slots[0]].kind != J_ARRAY:
                    o.length = 0
                    put(&o, header, len(header))
                    key = self.result(&t, slots[0], &o, timeframe_start)
                    emit(out, key, &o, headers, position)
                    return 0
                results = slots[0]
            elif t.nodes[results].kind != J_ARRAY:
                return 1
            j = results + 1
            for k in range(t.nodes[results].count):
                o.length = 0
                put(&o, header, len(header))
                key = self.result(&t, j, &o, timeframe_start)
                emit(out, key, &o, headers, position)
                j = t.nodes[j].after
            return 0
        except Exception:  # fast_results decides, and explains what it refuses
            del out[before:]
            return 1
        finally:
            free(t.nodes)
            if o.data != NULL:
                close_out(&o)

    cdef int location(self, Tape* t, Py_ssize_t i, Out* o, dict extra) except -1:
        """A `world_data` as ["null", GeoLocation] (null when all its fields are); its unknown
        members go to `extra["world_data"]`."""
        cdef Py_ssize_t world = object_or_none(t, i)
        cdef Py_ssize_t slots[7]
        cdef Py_ssize_t before, k
        cdef list unknown = []
        if world < 0:
            return put_long(o, 0)
        collect(t, world, &self.world.fields, slots, unknown)
        if unknown:
            extra["world_data"] = unknown_members(t, unknown)
        before = o.length
        put_long(o, 1)
        for k in range(5):
            to_str(t, slots[k], o)
        to_float(t, slots[5], o)
        to_float(t, slots[6], o)
        if o.length == before + 8:  # seven nulls after the branch: all None, so no location
            o.length = before
            put_long(o, 0)
        return 0

    cdef bytes result(self, Tape* t, Py_ssize_t i, Out* o, object timeframe_start):
        """Writes one result's `TalkwalkerResult` body; returns its document id."""
        cdef Py_ssize_t body[2]
        cdef Py_ssize_t data[27]
        cdef Py_ssize_t one[1]
        cdef Py_ssize_t author[6]
        cdef Py_ssize_t source[3]
        cdef Py_ssize_t highlight[3]
        cdef Py_ssize_t matched[4]
        cdef Py_ssize_t article, extended, author_at, source_at, highlights, matched_at, j, k, n
        cdef Py_ssize_t comments, pageviews
        cdef list unknown
        cdef dict extra, extra_data, author_extra, source_extra, entry
        if i < 0 or t.nodes[i].kind != J_OBJECT:
            raise Miss("result")
        unknown = []
        collect(t, i, &self.body.fields, body, unknown)
        extra = unknown_members(t, unknown)
        if body[0] < 0 or t.nodes[body[0]].kind != J_OBJECT:
            raise Miss("data")
        unknown = []
        collect(t, body[0], &self.data.fields, data, unknown)
        extra_data = unknown_members(t, unknown)
        if data[D_URL] < 0:
            raise Miss("no url")

        url = url_bytes(t, data[D_URL])
        if not url:
            raise Miss("blank url")
        doc_id = hex_digest(sha256(url).digest())  # records.document_id, from its bytes
        put_long(o, 64)
        put(o, doc_id, 64)
        put_long(o, len(url))
        put(o, url, len(url))

        comments = pageviews = -1
        article = object_or_none(t, data[D_ARTICLE])
        if article >= 0:
            unknown = []
            collect(t, article, &self.article.fields, one, unknown)
            comments = one[0]
            if unknown:
                extra_data["article_extended_attributes"] = unknown_members(t, unknown)
        extended = object_or_none(t, data[D_EXTENDED])
        if extended >= 0:
            unknown = []
            collect(t, extended, &self.extended.fields, one, unknown)
            pageviews = one[0]
            if unknown:
                extra_data["source_extended_attributes"] = unknown_members(t, unknown)
        author_at = object_or_none(t, data[D_AUTHOR])
        source_at = object_or_none(t, data[D_SOURCE])

        for k in range(3):
            to_epoch_ms(t, data[D_FIRST_TIME + k], o)
        for k in range(9):
            to_str(t, data[D_FIRST_TEXT + k], o)
        for k in range(4):
            to_int32(t, data[D_FIRST_LEVEL + k], o)
        for k in range(4):
            to_str_list(t, data[D_FIRST_LIST + k], o)
        to_count(t, data[D_ENGAGEMENT], o)
        to_count(t, data[D_REACH], o)
        to_count(t, comments, o)  # -1 (no article attributes): None

        if author_at < 0:  # TalkwalkerAuthor
            put_long(o, 0)
        else:
            unknown = []
            collect(t, author_at, &self.author.fields, author, unknown)
            author_extra = unknown_members(t, unknown)
            put_long(o, 1)
            for k in range(5):
                to_str(t, author[k], o)
            self.location(t, author[5], o, author_extra)
            if author_extra:
                extra_data["extra_author_attributes"] = author_extra

        if source_at < 0 and extended < 0:  # TalkwalkerSource
            put_long(o, 0)
        else:
            source_extra = {}
            put_long(o, 1)
            if source_at < 0:
                put_long(o, 0)
                put_long(o, 0)
                put_long(o, 0)
            else:
                unknown = []
                collect(t, source_at, &self.source.fields, source, unknown)
                to_str(t, source[0], o)
                to_str(t, source[1], o)
                self.location(t, source[2], o, source_extra)
                source_extra.update(unknown_members(t, unknown))
            to_count(t, pageviews, o)
            if source_extra:
                extra_data["extra_source_attributes"] = source_extra

        extra_highlights = []
        highlights = body[1]
        if highlights >= 0 and t.nodes[highlights].kind != J_NULL:  # TalkwalkerMatch array
            if t.nodes[highlights].kind == J_ARRAY:
                n = t.nodes[highlights].count
                j = highlights + 1
            else:
                n = 1
                j = highlights
            if n:
                put_long(o, n)
            for k in range(n):
                if t.nodes[j].kind != J_OBJECT:
                    raise Miss("highlight")
                unknown = []
                collect(t, j, &self.highlight.fields, highlight, unknown)
                entry = unknown_members(t, unknown)
                matched_at = object_or_none(t, highlight[2])
                if matched_at < 0:
                    put_long(o, 0)
                    put_long(o, 0)
                    put_long(o, 0)
                    put_long(o, 0)
                else:
                    unknown = []
                    collect(t, matched_at, &self.matched.fields, matched, unknown)
                    to_str(t, matched[0], o)
                    to_str(t, matched[1], o)
                    to_str_list(t, matched[2], o)
                    to_str(t, matched[3], o)
                    if unknown:
                        entry["matched"] = unknown_members(t, unknown)
                to_str(t, highlight[0], o)
                to_str(t, highlight[1], o)
                extra_highlights.append(entry)
                j = t.nodes[j].after
        put_long(o, 0)

        opt_long(o, timeframe_start, False)
        if extra_data:
            extra["data"] = extra_data
        if any(extra_highlights):
            extra["highlighted_data"] = extra_highlights
        put_extra(t, o, extra)
        return doc_id
