# C-level declarations of the compiled Shapes, so that the compiled decoder
# calls Shapes.match without Python overhead.

cdef class Shapes:
    cdef readonly object event_type
    cdef readonly object base
    cdef readonly int field
    cdef readonly Py_ssize_t hits
    cdef bytes _head, _mid
    cdef object _tail
    cdef Py_ssize_t _fixed, _wait, _fails, _learned_at
    cdef object _source, _probe  # until the first match confirms the shape (see _shape_py)

    cpdef object match(self, str event_type, bytes payload)
    cpdef observe(self, str event_type, bytes payload, object delta, object probe)
    cdef int _confirm(self) except -1
    cdef _take(self, object learned)
