# Compiled twin of _decoder_py.py: framing + JSON + delta building fused in
# one pass per feed().
#
# The compiled SSEParser's _feed_raw is called at C level and returns
# (event type, data bytes) pairs; each payload goes to orjson.loads as bytes
# (never via str); OpenAI chat chunks are walked with PyDict_GetItem, using
# orjson's own cached key objects once seen (KeySet), so lookups hit on
# pointer equality; Delta/ToolCallDelta/Usage tuples are allocated as
# tuple_subtype_new would (minus GC tracking: their items are atomic) and
# filled in place, with no call to __new__.
#
# Measured alternatives that were slower: walking each dict once with
# PyDict_Next instead of looking keys up (1.58x orjson.loads vs 1.44x).
#
# The other wire formats (Responses API, Anthropic, Gemini, Cohere, watsonx)
# are mapped by the shared Python module _formats, so the twins cannot differ
# on them. Behaviour must match the Python twin exactly; the same tests run on
# both.

cimport cython

from cpython.dict cimport PyDict_Next, PyDict_Size
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.long cimport PyLong_AsLongAndOverflow
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_GET_ITEM
from cpython.unicode cimport PyUnicode_GET_LENGTH

from turbosse._parser_c cimport SSEParser
from turbosse._shape_c cimport Shapes

from orjson import JSONDecodeError, loads as _orjson_loads

from turbosse._decoder_common import (
    FAILED_MESSAGE,
    chat_error,
    check_options,
    details_text,
    parts_text,
    snippet,
)
from turbosse._delta import Delta, ToolCallDelta, Usage
from turbosse._errors import EventTooLarge, MalformedChunk, SSEError
from turbosse._formats import FORMAT_NAMES, FormatState, detect, is_error, json_text, make_stream_error
from turbosse._parser_common import DEFAULT_MAX_EVENT_BYTES

__all__ = ["ChatDecoder"]

cdef extern from *:
    """
    /* Allocate an instance of a tuple subclass with n (NULL) items, as
       tuple_subtype_new does; the caller fills every slot before the object
       is visible to anything else. */
    static PyObject* turbosse_alloc_tuple(PyObject* type, Py_ssize_t n) {
        PyTypeObject* t = (PyTypeObject*)type;
        PyVarObject* op;
        Py_ssize_t i;
        if (t->tp_alloc != PyType_GenericAlloc) {
            return t->tp_alloc(t, n);
        }
        /* PyType_GenericAlloc without GC tracking: what the decoder puts
           in a delta (ints, str, None, and tuples of those) can never form a
           reference cycle, so the collector need not see these tuples, as
           CPython itself untracks tuples of atomic items. The slots are set
           to NULL (as tp_alloc does) and then filled by the caller. */
        op = PyObject_GC_NewVar(PyVarObject, t, n);
        if (op == NULL) return NULL;
        for (i = 0; i < n; i++) ((PyTupleObject*)op)->ob_item[i] = NULL;
        return (PyObject*)op;
    }
    #define turbosse_SET_ITEM(t, i, v) (Py_INCREF(v), PyTuple_SET_ITEM(t, i, v))
    """
    object turbosse_alloc_tuple(object type, Py_ssize_t n)
    void turbosse_SET_ITEM(object t, Py_ssize_t i, object v)

# format codes, as in _formats._common
cdef enum:
    AUTO = 0
    OPENAI = 1
    REPLICATE = 8

cdef object DELTA = Delta
cdef object TOOL_CALL_DELTA = ToolCallDelta
cdef object USAGE = Usage
cdef object LOADS = _orjson_loads

cdef str K_CHOICES = "choices"
cdef str K_INDEX = "index"
cdef str K_DELTA = "delta"
cdef str K_ROLE = "role"
cdef str K_CONTENT = "content"
cdef str K_REASONING_CONTENT = "reasoning_content"
cdef str K_REASONING = "reasoning"
cdef str K_REASONING_DETAILS = "reasoning_details"
cdef str K_REFUSAL = "refusal"
cdef str K_TOOL_CALLS = "tool_calls"
cdef str K_FUNCTION_CALL = "function_call"
cdef str K_FUNCTION = "function"
cdef str K_NAME = "name"
cdef str K_ARGUMENTS = "arguments"
cdef str K_ID = "id"
cdef str K_TEXT = "text"
cdef str K_FINISH_REASON = "finish_reason"
cdef str K_USAGE = "usage"
cdef str K_X_GROQ = "x_groq"
cdef str K_PROMPT_TOKENS = "prompt_tokens"
cdef str K_COMPLETION_TOKENS = "completion_tokens"
cdef str K_TOTAL_TOKENS = "total_tokens"
cdef str K_MODEL = "model"
cdef str K_ERROR = "error"
cdef str K_TYPE = "type"
cdef str S_ERROR = "error"


cdef extern from "Python.h":
    # declared here without Cython's "except? NULL": keys are exact str with
    # cached hashes, so the lookup cannot raise, and no error check is needed
    PyObject* PyDict_GetItem "PyDict_GetItemWithError" (object d, object key)


cdef inline object dget(dict d, object key):
    """d.get(key) without a method call (PyDict_GetItemWithError: 3.11's
    PyDict_GetItem saves and restores the error state on every call)."""
    cdef PyObject* p = PyDict_GetItem(d, key)
    if p == NULL:
        return None
    return <object>p


cdef inline object text_or_none(object v):
    """A non-empty str, else None (an empty fragment carries nothing)."""
    if type(v) is str and PyUnicode_GET_LENGTH(v) > 0:
        return v
    return None


cdef inline object int_or_none(object v):
    return v if type(v) is int else None


cdef inline object new_delta(object index, object role, object content, object reasoning,
                             object refusal, object tool_calls, object finish, object usage):
    cdef object d = turbosse_alloc_tuple(DELTA, 8)
    turbosse_SET_ITEM(d, 0, index)
    turbosse_SET_ITEM(d, 1, role)
    turbosse_SET_ITEM(d, 2, content)
    turbosse_SET_ITEM(d, 3, reasoning)
    turbosse_SET_ITEM(d, 4, refusal)
    turbosse_SET_ITEM(d, 5, tool_calls)
    turbosse_SET_ITEM(d, 6, finish)
    turbosse_SET_ITEM(d, 7, usage)
    return d


cdef object new_usage(object p, object c, object t):
    cdef object u = turbosse_alloc_tuple(USAGE, 3)
    turbosse_SET_ITEM(u, 0, p)
    turbosse_SET_ITEM(u, 1, c)
    turbosse_SET_ITEM(u, 2, t)
    return u


cdef object tool_call_delta(object tc):
    """Mirror of _decoder_py.tool_call_delta."""
    if type(tc) is not dict:
        return None
    cdef dict t = <dict>tc
    cdef object name = None
    cdef object args = None
    cdef object fn = dget(t, K_FUNCTION)
    if type(fn) is dict:
        name = text_or_none(dget(<dict>fn, K_NAME))
        args = dget(<dict>fn, K_ARGUMENTS)
        if args is not None and type(args) is not str:
            args = json_text(args)
    cdef object out = turbosse_alloc_tuple(TOOL_CALL_DELTA, 4)
    turbosse_SET_ITEM(out, 0, int_or_none(dget(t, K_INDEX)))
    turbosse_SET_ITEM(out, 1, text_or_none(dget(t, K_ID)))
    turbosse_SET_ITEM(out, 2, name)
    turbosse_SET_ITEM(out, 3, args)
    return out


cdef object openai_usage(object u):
    """Mirror of _decoder_py.openai_usage."""
    if type(u) is not dict:
        return None
    cdef object p = dget(<dict>u, K_PROMPT_TOKENS)
    cdef object c = dget(<dict>u, K_COMPLETION_TOKENS)
    cdef object t = dget(<dict>u, K_TOTAL_TOKENS)
    if p is None and c is None and t is None:
        return None
    return new_usage(int_or_none(p), int_or_none(c), int_or_none(t))


cdef object tool_calls_of(dict d):
    cdef object tcs = dget(d, K_TOOL_CALLS)
    cdef list calls
    cdef object tc
    if type(tcs) is list and len(<list>tcs) > 0:
        calls = []
        for tc in <list>tcs:
            tc = tool_call_delta(tc)
            if tc is not None:
                calls.append(tc)
        return tuple(calls) if calls else None
    cdef object fc = dget(d, K_FUNCTION_CALL)  # the deprecated functions API
    if type(fc) is dict:
        return (tool_call_delta({"index": 0, "function": fc}),)
    return None


#: with one event per feed, the decoder learns the key objects again from
#: one event in this many (see KeySet)
cdef enum:
    LEARN_EVERY = 32


@cython.no_gc  # str fields only: no reference cycle possible
cdef class KeySet:
    """The hot dict keys, as the very str objects orjson puts in its dicts.

    orjson caches key strings, so every chunk's "choices" is the same object;
    looking a key up with that object hits on pointer equality instead of
    comparing characters. The decoder refreshes these from the first chunk of
    a feed() (the cache may drop an entry): in the first events, then in one
    event of every LEARN_EVERY; a key not learned is the
    module's own equal str, so lookups are always correct, only slower.
    """

    cdef object choices, index, delta, finish_reason, content, role, usage, error

    def __cinit__(self):
        self.choices = K_CHOICES
        self.index = K_INDEX
        self.delta = K_DELTA
        self.finish_reason = K_FINISH_REASON
        self.content = K_CONTENT
        self.role = K_ROLE
        self.usage = K_USAGE
        self.error = K_ERROR

    cdef void learn_from(self, dict d) noexcept:
        cdef Py_ssize_t pos = 0
        cdef PyObject* key
        cdef PyObject* value
        while PyDict_Next(d, &pos, &key, &value):
            if type(<object>key) is not str:
                continue
            k = <object>key
            # compare lengths first: most keys match none of ours
            n = PyUnicode_GET_LENGTH(k)
            if n == 7:
                if k == K_CHOICES:
                    self.choices = k
            elif n == 5:
                if k == K_INDEX:
                    self.index = k
                elif k == K_DELTA:
                    self.delta = k
                elif k == K_USAGE:
                    self.usage = k
                elif k == K_ERROR:
                    self.error = k
            elif n == 13:
                if k == K_FINISH_REASON:
                    self.finish_reason = k
            elif n == 4:
                if k == K_ROLE:
                    self.role = k

    cdef void learn(self, dict obj) noexcept:
        """Learn from a chunk, its first choice and that choice's delta."""
        self.learn_from(obj)
        cdef PyObject* p = PyDict_GetItem(obj, self.choices)
        if p == NULL or type(<object>p) is not list or len(<list>p) == 0:
            return
        ch = (<list>p)[0]
        if type(ch) is not dict:
            return
        self.learn_from(<dict>ch)
        p = PyDict_GetItem(<dict>ch, self.delta)
        if p != NULL and type(<object>p) is dict:
            self.learn_from(<dict>p)
            # "content" is 7 long like "choices": learned here, where it is
            pc = PyDict_GetItem(<dict><object>p, K_CONTENT)
            if pc != NULL:
                self.learn_content(<dict><object>p)

    cdef void learn_content(self, dict d) noexcept:
        cdef Py_ssize_t pos = 0
        cdef PyObject* key
        cdef PyObject* value
        while PyDict_Next(d, &pos, &key, &value):
            if type(<object>key) is str and <object>key == K_CONTENT:
                self.content = <object>key
                return


@cython.no_gc  # sets of JSON scalars only: no reference cycle possible
cdef class Choices:
    """The choice indices that started and those that got a finish reason,
    for ChatDecoder.complete: the Python twin keeps the same two sets in
    FormatState.started/finished. Indices 0-63 are bits; any other goes to a
    set (the hot path marks one or two choices per chunk)."""

    cdef unsigned long long started_bits, finished_bits
    cdef set started, finished  # made when an index beyond the bits comes (rare)

    cdef inline void mark(self, object index, bint finish) noexcept:
        cdef int overflow = 0
        cdef long i = PyLong_AsLongAndOverflow(index, &overflow)  # index is an exact int
        if overflow == 0 and 0 <= i < 64:
            self.started_bits |= 1ULL << i
            if finish:
                self.finished_bits |= 1ULL << i
            return
        try:
            if self.started is None:
                self.started, self.finished = set(), set()
            self.started.add(index)
            if finish:
                self.finished.add(index)
        except BaseException:  # MemoryError only: the set cannot grow
            pass

    cdef bint all_finished(self):
        if self.started is None:
            return self.started_bits != 0 and (self.started_bits & ~self.finished_bits) == 0
        if self.started_bits == 0 and not self.started:
            return False
        return (self.started_bits & ~self.finished_bits) == 0 and self.started <= self.finished


cdef int openai_chunk(dict obj, list out, KeySet ks, Choices cs) except -1:
    """Mirror of _decoder_py.openai_chunk (metadata is handled by the caller,
    after it). Returns 1 if the chunk has a "choices" key, else 0 (the
    caller's error check needs to know, and one lookup is saved). ``cs`` is
    marked only once the whole chunk is mapped."""
    cdef Py_ssize_t start = len(out)
    cdef Py_ssize_t pos
    cdef PyObject* pchoices = PyDict_GetItem(obj, ks.choices)
    cdef object choices = None if pchoices == NULL else <object>pchoices
    cdef object ch, index, role, content, reasoning, refusal, tool_calls, finish, d, tmp
    cdef Py_ssize_t left
    cdef PyObject* p
    cdef bint finished = True  # no choices, or one finished: look for x_groq usage
    # the choices to mark in cs at the end: the first in two locals (one choice
    # per chunk is the rule), any further in a list
    cdef object mark_index = None
    cdef bint mark_ended = False
    cdef list more_marks = None
    if type(choices) is list:
        finished = len(<list>choices) == 0
        pos = -1
        for ch in <list>choices:
            pos += 1
            if type(ch) is not dict:
                continue
            index = dget(<dict>ch, ks.index)
            if type(index) is not int:
                index = pos
            role = content = reasoning = refusal = tool_calls = None
            d = dget(<dict>ch, ks.delta)
            if type(d) is dict:
                # Most deltas hold one or two keys ({"content": "tok"}): look
                # the keys up by frequency and stop once every key is found.
                left = PyDict_Size(d)
                if left:
                    p = PyDict_GetItem(<dict>d, ks.content)
                    if p != NULL:
                        content = <object>p
                        left -= 1
                if left:
                    p = PyDict_GetItem(<dict>d, ks.role)
                    if p != NULL:
                        role = <object>p
                        left -= 1
                if type(content) is list:
                    content, reasoning = parts_text(content)
                if left:
                    # reasoning_content (DeepSeek, vLLM) or reasoning (OpenRouter,
                    # Groq, Ollama); same truthiness rule as the Python twin's `or`
                    tmp = None
                    p = PyDict_GetItem(<dict>d, K_REASONING_CONTENT)
                    if p != NULL:
                        tmp = <object>p
                        left -= 1
                    if not tmp:
                        p = PyDict_GetItem(<dict>d, K_REASONING)
                        tmp = None
                        if p != NULL:
                            tmp = <object>p
                            left -= 1
                        if not tmp:
                            tmp = reasoning
                    reasoning = tmp
                    if reasoning is None and PyDict_GetItem(<dict>d, K_REASONING_DETAILS) != NULL:
                        reasoning = details_text((<dict>d)[K_REASONING_DETAILS])
                if left:
                    p = PyDict_GetItem(<dict>d, K_REFUSAL)
                    if p != NULL:
                        refusal = <object>p
                        left -= 1
                if left and (PyDict_GetItem(<dict>d, K_TOOL_CALLS) != NULL
                             or PyDict_GetItem(<dict>d, K_FUNCTION_CALL) != NULL):
                    tool_calls = tool_calls_of(<dict>d)
            else:
                content = dget(<dict>ch, K_TEXT)  # legacy completions: choices[].text
            role = text_or_none(role)
            content = text_or_none(content)
            reasoning = text_or_none(reasoning)
            refusal = text_or_none(refusal)
            finish = text_or_none(dget(<dict>ch, ks.finish_reason))
            if mark_index is None:
                mark_index, mark_ended = index, finish is not None
            else:
                if more_marks is None:
                    more_marks = []
                more_marks.append((index, finish is not None))
            if finish is not None:
                finished = True
            if (role is not None or content is not None or reasoning is not None
                    or refusal is not None or tool_calls is not None or finish is not None):
                out.append(new_delta(index, role, content, reasoning, refusal, tool_calls, finish, None))
    cdef object u = dget(obj, ks.usage)
    cdef object usage, last
    if u is None and finished:
        tmp = dget(obj, K_X_GROQ)  # older Groq: usage inside x_groq on the last chunk
        if type(tmp) is dict:
            u = dget(<dict>tmp, K_USAGE)
    if u is not None:
        usage = openai_usage(u)
        if usage is not None:
            if len(out) > start:
                last = out[len(out) - 1]
                out[len(out) - 1] = new_delta(
                    <object>PyTuple_GET_ITEM(last, 0), <object>PyTuple_GET_ITEM(last, 1),
                    <object>PyTuple_GET_ITEM(last, 2), <object>PyTuple_GET_ITEM(last, 3),
                    <object>PyTuple_GET_ITEM(last, 4), <object>PyTuple_GET_ITEM(last, 5),
                    <object>PyTuple_GET_ITEM(last, 6), usage)
            else:
                out.append(new_delta(0, None, None, None, None, None, None, usage))
    if mark_index is not None:
        cs.mark(mark_index, mark_ended)
        if more_marks is not None:
            for tmp in more_marks:
                cs.mark(<object>PyTuple_GET_ITEM(tmp, 0), <bint>(<object>PyTuple_GET_ITEM(tmp, 1)))
    return pchoices != NULL


cdef inline object shaped_delta(object base, int field, object text):
    """The learned delta ``base`` with ``text`` in its field ``field`` (2
    content, 3 reasoning)."""
    return new_delta(
        <object>PyTuple_GET_ITEM(base, 0), <object>PyTuple_GET_ITEM(base, 1),
        text if field == 2 else <object>PyTuple_GET_ITEM(base, 2),
        text if field == 3 else <object>PyTuple_GET_ITEM(base, 3),
        <object>PyTuple_GET_ITEM(base, 4), <object>PyTuple_GET_ITEM(base, 5),
        <object>PyTuple_GET_ITEM(base, 6), <object>PyTuple_GET_ITEM(base, 7))


def _probe(event_type, payload):
    """The full path's deltas for an OpenAI payload, with no effect on any
    decoder (None for an invalid chunk or an in-band error): what a learned
    chunk shape is checked against (see _shape_common)."""
    try:
        obj = LOADS(payload)
    except JSONDecodeError:
        return None
    if type(obj) is not dict or chat_error(event_type, obj):
        return None
    cdef list out = []
    openai_chunk(<dict>obj, out, KeySet(), Choices())
    return out


cdef object PROBE = _probe


@cython.no_gc  # refers only to objects that cannot refer back: untracked, as the GC need not scan it
cdef class ChatDecoder:
    """Incremental decoder: raw ``text/event-stream`` bytes of an LLM
    response in, :class:`Delta` tuples out. Sans-IO.

    :param format: the wire format: ``"openai-chat"``, ``"openai-completions"``
        (same code path: ``choices[].delta`` or ``choices[].text``),
        ``"openai-responses"``, ``"anthropic"``, ``"gemini"`` (native
        ``streamGenerateContent?alt=sse``), ``"gemini-interactions"``,
        ``"cohere"``, ``"watsonx"``, ``"replicate"``, or ``"auto"`` (default):
        decided from the first event.
    :param on_malformed: ``"raise"`` (default) raises :class:`MalformedChunk`
        for an event whose data is not a JSON object (or, in ``"auto"``, of no
        known format); ``"skip"`` skips it and counts it in :attr:`skipped`.
    :param max_event_bytes: passed to the SSEParser (None for no limit).

    ``data: [DONE]`` ends the stream (compared as bytes); so do Anthropic's
    ``message_stop``, the Responses API's ``response.completed``/``failed``/
    ``incomplete``, Cohere's ``message-end``, the Interactions API's
    ``interaction.completed`` and Replicate's ``done``; then :attr:`done` is
    true and later input is ignored. An in-band provider error raises
    :class:`StreamError`. After any exception the decoder refuses more input.
    """

    cdef SSEParser _parser
    cdef Shapes _shapes         # OpenAI chunks that differ only in their text skip orjson
    cdef object _state          # _formats.FormatState
    cdef KeySet _keys           # orjson's key objects, refreshed once per feed()
    cdef Choices _choices       # OpenAI format: which choices started/finished
    cdef int _format
    cdef bint _skip
    cdef bint _failed
    cdef bint _meta_done        # model and id both known: stop looking
    cdef Py_ssize_t _events
    cdef Py_ssize_t _mark       # len(out) when the event being decoded began
    cdef Py_ssize_t _skipped

    def __init__(self, format="auto", *, on_malformed="raise", max_event_bytes=DEFAULT_MAX_EVENT_BYTES):
        self._format = check_options(format, on_malformed)
        self._skip = on_malformed == "skip"
        self._parser = SSEParser(max_event_bytes=max_event_bytes, sentinel=b"[DONE]")
        self._state = FormatState()
        self._shapes = Shapes()
        self._keys = KeySet()
        self._choices = Choices()
        self._failed = False
        self._meta_done = False
        self._events = 0
        self._mark = 0
        self._skipped = 0

    @property
    def format(self):
        """The format in use: the one given, or the detected one (``"auto"``
        until the first event decides)."""
        return FORMAT_NAMES.get(self._format, "auto")

    @property
    def done(self):
        """The stream reached its format's natural end ([DONE], message_stop,
        response.completed, ...). Some servers send none (llama.cpp without
        --send-done, TGI, Writer, Gemini): then it stays false."""
        return self._state.done or self._parser.done

    @property
    def _shape_hits(self):
        # payloads decoded by the learned chunk shape, with no JSON parse (for tests)
        return self._shapes.hits

    @property
    def skipped(self):
        """Events skipped as malformed (with ``on_malformed="skip"``)."""
        return self._skipped

    @property
    def events(self):
        """Events dispatched so far (the numbering MalformedChunk uses)."""
        return self._events

    @property
    def model(self):
        """The first non-empty model name the stream reported."""
        return self._state.model

    @property
    def id(self):
        """The first non-empty response id the stream reported."""
        return self._state.id

    @property
    def stop_reasons(self):
        """The provider's own finish word per choice index, for the formats whose
        words ``finish_reason`` normalises (Anthropic ``stop_reason``, Responses
        status or ``incomplete_details.reason``, Gemini ``finishReason``, Cohere
        ``finish_reason``, watsonx ``stop_reason``, Interactions status); empty
        for OpenAI chat, whose ``finish_reason`` is already the server's word."""
        return dict(self._state.stop_reasons)

    def feed(self, data):
        """Decode the next chunk of bytes; return the deltas it completed."""
        if self._failed:
            raise SSEError(FAILED_MESSAGE)
        if self._format != OPENAI and self._state.done:
            return []
        cdef list out = []
        cdef list events
        try:
            events = self._parser._feed_raw(data)
        except EventTooLarge as exc:
            # decode what the parser completed before the limit, keep it on
            # the exception: nothing already received is lost
            self._failed = True
            exc.deltas = out
            self._decode_all(exc.events, out)
            raise
        self._decode_all(events, out)
        return out

    def close(self):
        """End of input. An event not followed by its blank line is discarded
        (WHATWG) and reported by :attr:`unterminated`; returns [] (every
        event is decoded as soon as it completes). Check :attr:`complete`
        afterwards to tell a finished stream from a truncated one."""
        self._parser.close()
        return []

    @property
    def complete(self):
        """The stream is complete: the format's end marker was seen (see
        :attr:`done`), or some choice started and every choice that started
        has a finish reason. A body that ends while this is false was cut
        short (the clients and ``accumulate`` raise :class:`StreamInterrupted`
        then); an empty body is never complete.

        End markers: ``data: [DONE]`` (OpenAI chat and completions, Azure,
        vLLM, DeepSeek, Groq, Mistral, Ollama, OpenRouter, Together, llama.cpp
        with ``--send-done``), Anthropic's ``message_stop``, the Responses
        API's ``response.completed``/``incomplete``/``failed`` (OpenAI, Azure,
        xAI, DeepSeek, OpenRouter, Bedrock), Cohere's ``message-end``, the
        Interactions API's ``interaction.completed`` and Replicate's ``done``.
        Servers that send none, complete by their finish reasons: Gemini
        native, watsonx, TGI, Writer, Perplexity, llama.cpp without
        ``--send-done``. Some servers end the last event without its blank
        line (``data: [DONE]\\n``): that event is discarded (see
        :attr:`unterminated`), and such a stream is complete by its finish
        reasons."""
        if self._state.done or self._parser.done:
            return True
        if self._format == OPENAI:
            return self._choices.all_finished()
        return self._state.all_finished()

    @property
    def unterminated(self):
        """After :meth:`close`: the body ended inside an event (a line with
        no line end, or field lines with no blank line after them), whose
        bytes were discarded as the standard requires. False before close()
        and after the end marker."""
        return self._parser.unterminated

    cdef int _decode_all(self, list events, list out) except -1:
        """_decode, with a failure of the mapping itself (a value too deeply
        nested for orjson to re-encode, Python's recursion limit) turned into
        MalformedChunk for that event (see the Python twin). One try per
        feed(), none per event."""
        cdef Py_ssize_t pos = 0
        cdef Py_ssize_t first, bad
        while True:
            first = self._events
            try:
                self._decode(events, pos, out)
                return 0
            except (TypeError, RecursionError) as exc:
                bad = pos + self._events - first - 1
                del out[self._mark:]  # what the failing event had produced
                self._malformed(
                    <object>PyTuple_GET_ITEM(<object>PyList_GET_ITEM(events, bad), 1),
                    f"could not be decoded ({type(exc).__name__}: {exc})", out, exc)
                pos = bad + 1

    cdef int _decode(self, list events, Py_ssize_t pos, list out) except -1:
        cdef object ev, event_type, payload, obj, p
        cdef Py_ssize_t i
        cdef PyObject* e
        cdef int fmt
        cdef object st = self._state
        cdef KeySet ks = self._keys
        cdef Shapes shapes = self._shapes
        cdef object text
        cdef bint learn = True
        cdef int has_choices
        for i in range(pos, PyList_GET_SIZE(events)):
            ev = <object>PyList_GET_ITEM(events, i)
            event_type = <object>PyTuple_GET_ITEM(ev, 0)
            payload = <object>PyTuple_GET_ITEM(ev, 1)
            self._events += 1
            self._mark = PyList_GET_SIZE(out)
            fmt = self._format
            if fmt == OPENAI:
                text = shapes.match(event_type, payload)
                if text is not None:  # the learned chunk with another text: its delta, no parse
                    out.append(shaped_delta(shapes.base, shapes.field, text))
                    continue
            elif fmt == REPLICATE or (fmt == AUTO and event_type == "output"):
                # Replicate's output events are plain text, not JSON
                self._format = REPLICATE
                try:
                    st.replicate(event_type, payload, out)
                except SSEError:
                    self._failed = True
                    raise
                if st.done:
                    return 0
                continue
            try:
                obj = LOADS(payload)
            except JSONDecodeError:
                if event_type == S_ERROR:  # a provider's error as plain text: still its error
                    self._fail_with({"error": payload.decode("utf-8", "replace")}, out)
                self._malformed(payload, "invalid JSON", out)
                continue
            if type(obj) is not dict:
                if event_type == S_ERROR:
                    self._fail_with({"error": obj}, out)
                self._malformed(payload, "not a JSON object", out)
                continue
            fmt = self._format
            if fmt == OPENAI:
                # learn from the first chunk of a feed, but not on every feed:
                # a stream read one event per feed would pay it per event;
                # the first events, then one in LEARN_EVERY, keep it fresh
                if learn and (self._events <= 4 or self._events % LEARN_EVERY == 0):
                    ks.learn(<dict>obj)
                    learn = False
                has_choices = openai_chunk(<dict>obj, out, ks, self._choices)
                if not self._meta_done:  # after the chunk is mapped: a skipped one leaves no trace
                    st.meta(dget(<dict>obj, K_MODEL), dget(<dict>obj, K_ID))
                    self._meta_done = st.model is not None and st.id is not None
                # in-band error: top-level "error", event: error, or (with no
                # choices) type: error; see _decoder_py.chat_error
                e = PyDict_GetItem(<dict>obj, ks.error)
                if (e != NULL and <object>e is not None) or event_type == S_ERROR:
                    self._fail_with(obj, out)
                if not has_choices:
                    e = PyDict_GetItem(<dict>obj, K_TYPE)
                    if e != NULL and <object>e == S_ERROR:
                        self._fail_with(obj, out)
                if PyList_GET_SIZE(out) == self._mark + 1:
                    shapes.observe(event_type, payload, <object>PyList_GET_ITEM(out, self._mark), PROBE)
                continue
            if fmt == AUTO:
                fmt = detect(event_type, obj)
                if fmt == AUTO:
                    if is_error(event_type, obj):
                        self._fail_with(obj, out)
                    self._malformed(payload, "not a chunk of any known format", out)
                    continue
                self._format = fmt
                if fmt == OPENAI:
                    # decode this first chunk on the fast path as well
                    openai_chunk(<dict>obj, out, ks, self._choices)
                    st.meta(dget(<dict>obj, K_MODEL), dget(<dict>obj, K_ID))
                    self._meta_done = st.model is not None and st.id is not None
                    if chat_error(event_type, obj):
                        self._fail_with(obj, out)
                    if PyList_GET_SIZE(out) == self._mark + 1:
                        shapes.observe(event_type, payload, <object>PyList_GET_ITEM(out, self._mark), PROBE)
                    continue
            try:
                st.decode(fmt, event_type, obj, out)
            except SSEError as exc:  # response.failed
                self._failed = True
                exc.deltas[:0] = out
                raise
            if is_error(event_type, obj):
                self._fail_with(obj, out)
            if st.done:
                return 0  # the format's end marker: later events are ignored
        return 0

    cdef int _fail_with(self, object obj, list out) except -1:
        self._failed = True
        raise make_stream_error(obj, out)

    cdef int _malformed(self, object payload, str reason, list out, object cause=None) except -1:
        if self._skip:
            self._skipped += 1
            return 0
        self._failed = True
        error = MalformedChunk(self._events, snippet(payload), reason, out)
        if cause is not None:
            raise error from cause
        raise error
