# Compiled twin of _fold_py.py: folds a list of deltas into an accumulator's
# choices. A delta that carries only the content of a choice already started
# (index and content set, every other field None: almost every delta of a
# stream) has its text appended to that choice's content list here, with no
# Python call; every other delta goes through ``add``, in order. The result is
# the one ``add`` alone gives, which is what it does for such a delta.

from cpython.dict cimport PyDict_GetItemWithError
from cpython.list cimport PyList_Append
from cpython.ref cimport PyObject
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE

__all__ = ["fold_deltas"]


cdef inline bint _content_only(object d):
    """An 8-tuple whose items other than index (0) and content (2) are None."""
    if not isinstance(d, tuple) or PyTuple_GET_SIZE(d) != 8:
        return False
    return (<object>PyTuple_GET_ITEM(d, 1) is None and <object>PyTuple_GET_ITEM(d, 2) is not None
            and <object>PyTuple_GET_ITEM(d, 3) is None and <object>PyTuple_GET_ITEM(d, 4) is None
            and <object>PyTuple_GET_ITEM(d, 5) is None and <object>PyTuple_GET_ITEM(d, 6) is None
            and <object>PyTuple_GET_ITEM(d, 7) is None)


def fold_deltas(dict choices, list deltas, object add) -> None:
    """Fold ``deltas``, in order, into a ChatAccumulator whose choices by
    index are ``choices`` and whose ``add`` is ``add``: the result is what
    ``add`` called on each delta gives."""
    cdef Py_ssize_t i = 0
    cdef object d
    cdef PyObject* choice
    while i < len(deltas):  # len read each time: ``add`` may run user code
        d = deltas[i]
        i += 1
        if _content_only(d):
            try:
                choice = PyDict_GetItemWithError(choices, <object>PyTuple_GET_ITEM(d, 0))
            except TypeError:  # an unhashable index: add raises what it raises
                choice = NULL
            if choice is not NULL:
                PyList_Append((<object>choice).content, <object>PyTuple_GET_ITEM(d, 2))
                continue
        add(d)
