# C-level declarations of the compiled parser, so that other compiled modules
# (the fused decoder) can call SSEParser._feed_raw without Python overhead.

cdef struct ByteBuf:
    char* ptr
    Py_ssize_t len
    Py_ssize_t cap


cdef class SSEParser:
    cdef ByteBuf _line       # an unterminated line carried to the next feed
    cdef ByteBuf _data       # the event's data buffer, lines joined with "\n"
    cdef ByteBuf _etype      # the event type buffer
    cdef ByteBuf _idbuf      # the last event ID buffer
    cdef bint _has_data      # a data field was seen in this block
    cdef bint _id_dirty      # _idbuf changed since _last_event_id was set
    cdef bint _skip_lf       # the last chunk ended in CR: a leading LF belongs to it
    cdef bint _at_start      # still looking for a BOM at the start of the stream
    cdef int _bom_matched    # how many BOM bytes have been matched so far
    cdef bint _done
    cdef bint _closed
    cdef bint _unterminated  # close() found an event in progress
    cdef bint _failed
    cdef bint _busy          # a feed() is running (guards against two threads)
    cdef Py_ssize_t _limit   # max_event_bytes clamped to PY_SSIZE_T_MAX, -1 for none
    cdef object _max_event_bytes  # as given, for the property
    cdef object _sentinel    # bytes or None
    cdef object _default_event  # str or None: the type of a block without one
    cdef str _last_event_id
    cdef object _retry
    cdef object _block_retry
    cdef bytes _type_key     # cache: the last custom event type's bytes ...
    cdef str _type_str       # ... and its decoded str

    cpdef list _feed_raw(self, object data)
    cdef list _feed_object(self, object data, bint raw)
    cdef int _feed_bytes(self, const char* p, Py_ssize_t n, list out, bint raw) except -1
    cdef int _process_line(self, const char* s, Py_ssize_t n, list out, bint raw) except -1
    cdef int _dispatch(self, const char* data, Py_ssize_t data_len, bint has_data,
                       list out, bint raw) except -1
    cdef void _reset_block(self) noexcept
    cdef int _fail(self, str what, list out) except -1
