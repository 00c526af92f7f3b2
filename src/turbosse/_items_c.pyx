# Compiled twin of _items_py.py: the items of the lists an iterator yields,
# one at a time. ``Items.__next__`` is a C slot, so ``for`` takes an item
# with no Python frame. ``AsyncItems.__anext__`` returns, for an item at
# hand, a ``_Ready`` awaitable whose ``am_send`` slot hands the item back as
# a plain result: an async generator (or an awaitable raising
# StopIteration(item)) makes an exception object per item, which costs more
# than the item took to decode. Cython declares no ``am_send`` of its own, so
# the slot is set on the type once, at import (CPython reads it on every
# ``await``: PyIter_Send). An empty list a generator yields is skipped.

from cpython.exc cimport PyErr_SetString
from cpython.ref cimport PyObject, Py_INCREF

__all__ = ["AsyncItems", "Items"]

cdef list _NOTHING = []  # the batch before the first: never appended to


cdef inline list _as_list(object batch):
    return batch if type(batch) is list else list(batch)


cdef class Items:
    """Iterate over the items of each iterable that ``batches`` yields, in
    order; :meth:`close` closes ``batches``."""

    cdef object _batches
    cdef list _batch
    cdef Py_ssize_t _i

    def __init__(self, batches):
        self._batches = batches
        self._batch = _NOTHING
        self._i = 0

    def __iter__(self):
        return self

    def __next__(self):
        cdef list batch = self._batch
        cdef Py_ssize_t i = self._i
        while i >= len(batch):
            batch = _as_list(next(self._batches))  # StopIteration ends the iteration
            self._batch = batch
            self._i = i = 0
        self._i = i + 1
        return batch[i]

    def close(self):
        """Stop: the items not yet taken are dropped and ``batches`` is closed."""
        self._batch = _NOTHING
        self._i = 0
        self._batches.close()


cdef class _Ready:
    """Awaiting it gives ``value`` at once (see the module comment)."""

    cdef object value
    cdef bint pending  # made by __anext__, not awaited yet

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):  # for a caller that does not use am_send
        if not self.pending:
            raise RuntimeError("cannot reuse already awaited __anext__()")
        self.pending = False
        value, self.value = self.value, None
        raise StopIteration(value)


cdef int _ready_send(PyObject* awaitable, PyObject* arg, PyObject** result) noexcept:
    cdef _Ready ready = <_Ready>awaitable
    if not ready.pending:
        PyErr_SetString(RuntimeError, b"cannot reuse already awaited __anext__()")
        result[0] = NULL
        return -1  # PYGEN_ERROR
    ready.pending = False
    Py_INCREF(ready.value)
    result[0] = <PyObject*>ready.value  # the reference goes to the caller
    ready.value = None
    return 0  # PYGEN_RETURN


ctypedef int (*_sendfunc)(PyObject*, PyObject*, PyObject**) noexcept

cdef extern from *:
    """
    static int __turbosse_set_am_send(PyObject *type, void *send) {
        PyAsyncMethods *am = ((PyTypeObject *)type)->tp_as_async;
        if (am == NULL) {
            PyErr_SetString(PyExc_SystemError, "_Ready has no async slots");
            return -1;
        }
        am->am_send = (sendfunc)send;
        return 0;
    }
    """
    int __turbosse_set_am_send(object type, void* send) except -1

__turbosse_set_am_send(_Ready, <void*>_ready_send)


cdef class AsyncItems:
    """The async twin of :class:`Items`: ``async for`` over the items of each
    iterable that the async generator ``batches`` yields; :meth:`aclose`
    closes ``batches``. An item already at hand is returned without
    suspending."""

    cdef object _batches
    cdef object _anext
    cdef list _batch
    cdef Py_ssize_t _i
    cdef _Ready _ready  # reused while each one is awaited before the next __anext__

    def __init__(self, batches):
        self._batches = batches
        self._anext = batches.__anext__
        self._batch = _NOTHING
        self._i = 0
        self._ready = _Ready()

    def __aiter__(self):
        return self

    def __anext__(self):
        cdef list batch = self._batch
        cdef Py_ssize_t i = self._i
        cdef _Ready ready
        if i < len(batch):
            self._i = i + 1
            ready = self._ready
            if ready.pending:  # an earlier __anext__() not awaited yet keeps its item
                ready = self._ready = _Ready()
            ready.value = batch[i]
            ready.pending = True
            return ready
        return self._refill()

    async def _refill(self):
        cdef list batch
        while True:
            batch = _as_list(await self._anext())  # StopAsyncIteration ends the iteration
            if len(batch):
                self._batch = batch
                self._i = 1
                return batch[0]

    async def aclose(self):
        """Stop: the items not yet taken are dropped and ``batches`` is closed."""
        self._batch = _NOTHING
        self._i = 0
        await self._batches.aclose()
