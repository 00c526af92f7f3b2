# Compiled twin of _items_py.py: the items of the lists an iterator yields,
# one at a time. ``Items.__next__`` is a C slot, so ``for`` takes an item
# with no Python frame. ``AsyncItems.__anext__`` returns a ``_Next``
# coroutine whose ``am_send`` slot hands an item at hand back as a plain
# result: an async generator (or an awaitable raising StopIteration(item))
# makes an exception object per item, which costs more than the item took
# to decode. Cython declares no ``am_send`` of its own, so the slot is set on
# the type once, at import; CPython 3.10 and 3.11 read it on every ``await``
# (PyIter_Send). 3.12 and later call ``tp_iternext`` instead, which must
# raise StopIteration(item): that slot is set too, to a C function that
# makes the exception as an async generator does, so an ``async for`` costs
# there what it costs over an async generator. An empty list a generator
# yields is skipped.

cimport cython
from cpython.ref cimport PyObject, Py_DECREF, Py_INCREF

from collections.abc import Coroutine as _Coroutine

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


@cython.freelist(8)
cdef class _Next:
    """What ``AsyncItems.__anext__`` returns: a coroutine (asyncio and anyio
    take it as one) that takes the next item when it is first sent to, as an
    async generator's ``asend`` does; made and dropped unawaited, it takes
    nothing. An item at hand is returned at once (through ``am_send``, see
    the module comment); else it drives the generator's own ``__anext__()``
    until a batch comes, and returns its first item."""

    cdef AsyncItems items
    cdef object inner  # the generator's __anext__() awaitable being driven
    cdef int state  # 0: not sent to yet, 1: driving inner, 2: finished

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):
        return self.send(None)

    def send(self, value):
        cdef PyObject* result = NULL
        cdef int status = _next_send(<PyObject*>self, <PyObject*>value, &result)
        if status == -1:
            _raise_set()
        out = <object>result
        Py_DECREF(out)  # the reference _next_send gave
        if status == 1:
            return out  # what the generator suspended on
        raise StopIteration(out)

    def throw(self, typ, val=None, tb=None):
        if self.state == 0:  # before it began: it raises here and takes nothing
            self.state = 2
            if val is None and tb is None:
                raise typ
            raise (val if isinstance(val, BaseException) else typ(val)).with_traceback(tb)
        if self.state != 1:
            raise RuntimeError("cannot reuse already awaited __anext__()")
        try:
            if val is None and tb is None:
                return self.inner.throw(typ)
            return self.inner.throw(typ, val, tb)
        except StopIteration as stop:  # the generator caught it and yielded a batch
            item = _settle(self, stop.value)
        except BaseException:
            self._finish()
            raise
        if item is not _NONE_AT_HAND:
            raise StopIteration(item)
        return self.send(None)  # an empty batch: on to the next

    def close(self):
        if self.state == 1:
            self.inner.close()
        self._finish()

    cdef _finish(self):
        self.inner = None
        self.state = 2


cdef object _NONE_AT_HAND = object()


cdef inline object _take(AsyncItems items):
    """The item at hand, taken; _NONE_AT_HAND if there is none."""
    cdef list batch = items._batch
    cdef Py_ssize_t i = items._i
    if i < len(batch):
        items._i = i + 1
        return batch[i]
    return _NONE_AT_HAND


cdef object _settle(_Next n, object batch):
    """The generator yielded ``batch``: its first item, and ``n`` finished;
    or, for an empty batch, _NONE_AT_HAND and ``n`` waiting on the next."""
    items = n.items
    items._batch = _as_list(batch)
    items._i = 0
    item = _take(items)
    if item is not _NONE_AT_HAND:
        n._finish()
    else:
        n.inner = items._anext()
    return item


cdef int _raise_set() except -1:
    return -1  # the exception is set already


cdef extern from "Python.h":
    int PyIter_Send(PyObject* iter, PyObject* arg, PyObject** presult)
    void PyErr_SetString(object type, const char* message)
    PyObject* Py_None


cdef int _next_send(PyObject* awaitable, PyObject* arg, PyObject** result) noexcept:
    # PyIter_Send for a _Next: an item at hand as a plain result (no
    # StopIteration made); else the generator's __anext__() driven the same
    # way, with no coroutine of our own in between.
    cdef _Next n = <_Next>awaitable
    cdef object item
    cdef object batch
    cdef int status
    if n.state == 0:
        try:
            item = _take(n.items)
            if item is not _NONE_AT_HAND:
                n.state = 2
                Py_INCREF(item)
                result[0] = <PyObject*>item  # the reference goes to the caller
                return 0  # PYGEN_RETURN
            n.inner = n.items._anext()
            n.state = 1
        except BaseException:
            n.state = 2
            result[0] = NULL
            return -1  # PYGEN_ERROR, the exception set
        arg = Py_None  # a fresh __anext__() takes None first
    elif n.state != 1:
        PyErr_SetString(RuntimeError, b"cannot reuse already awaited __anext__()")
        result[0] = NULL
        return -1
    while True:
        status = PyIter_Send(<PyObject*>n.inner, arg, result)
        if status == 1:  # PYGEN_NEXT: suspended on what it yielded
            return 1
        if status == -1:  # the generator's error (StopAsyncIteration at its end)
            n._finish()
            return -1
        batch = <object>result[0]
        Py_DECREF(batch)  # the reference PyIter_Send gave
        try:
            item = _settle(n, batch)
        except BaseException:
            n._finish()
            result[0] = NULL
            return -1
        if item is not _NONE_AT_HAND:
            Py_INCREF(item)
            result[0] = <PyObject*>item
            return 0
        arg = Py_None  # an empty batch: the next __anext__()


cdef PyObject* _next_iternext(PyObject* awaitable) noexcept:
    # tp_iternext for a _Next, what CPython 3.12+ calls where 3.10 and 3.11
    # call am_send: the result must travel in a StopIteration, made here as
    # an async generator's asend makes it (an instance: the item may be a
    # tuple), without the traceback a raise in Cython code would add.
    cdef PyObject* result = NULL
    cdef int status = _next_send(awaitable, Py_None, &result)
    if status == 1:
        return result  # what the generator suspended on
    if status == 0:
        _set_stop_iteration(result)
        Py_DECREF(<object>result)
    return NULL


cdef extern from *:
    """
    static int __turbosse_set_slots(PyObject *type, void *send, void *iternext) {
        PyTypeObject *t = (PyTypeObject *)type;
        if (t->tp_as_async == NULL) {
            PyErr_SetString(PyExc_SystemError, "_Next has no async slots");
            return -1;
        }
        t->tp_as_async->am_send = (sendfunc)send;
        t->tp_iternext = (iternextfunc)iternext;
        PyType_Modified(t);
        return 0;
    }

    static void __turbosse_set_stop_iteration(PyObject *value) {
        PyObject *exc = PyObject_CallOneArg(PyExc_StopIteration, value);
        if (exc != NULL) {
            PyErr_SetObject(PyExc_StopIteration, exc);
            Py_DECREF(exc);
        }
    }
    """
    int __turbosse_set_slots(object type, void* send, void* iternext) except -1
    void _set_stop_iteration "__turbosse_set_stop_iteration"(PyObject* value)

__turbosse_set_slots(_Next, <void*>_next_send, <void*>_next_iternext)
_Coroutine.register(_Next)


cdef class AsyncItems:
    """The async twin of :class:`Items`: ``async for`` over the items of each
    iterable that the async generator ``batches`` yields; :meth:`aclose`
    closes ``batches``. An item already at hand is returned without
    suspending."""

    cdef object _batches
    cdef object _anext
    cdef list _batch
    cdef Py_ssize_t _i

    def __init__(self, batches):
        self._batches = batches
        self._anext = batches.__anext__
        self._batch = _NOTHING
        self._i = 0

    def __aiter__(self):
        return self

    def __anext__(self):
        cdef _Next n = _Next.__new__(_Next)
        n.items = self
        return n

    async def aclose(self):
        """Stop: the items not yet taken are dropped and ``batches`` is closed."""
        self._batch = _NOTHING
        self._i = 0
        await self._batches.aclose()
