"""JSONStream, both twins: partial values equal jiter's trailing-strings partial
mode on every prefix, final values equal orjson/json, events describe the
document, invalid input and limits raise JSONStreamError at the right offset."""

from __future__ import annotations

import doctest
import json
import math
import sys
from types import ModuleType
from typing import Any

import orjson
import pytest
from conftest import CORPUS_DIR, twin_module

from turbosse import ChatDecoder, JSONStreamError
from turbosse import _jsonstream_py as python_twin

# the reference for partial values (the [test] extra installs it wherever it
# has a wheel)
from_json = pytest.importorskip("jiter").from_json

NOTHING = object()


@pytest.fixture(scope="session")
def js(twin: str) -> ModuleType:
    return twin_module(twin, "jsonstream")


def jiter_partial(prefix: str | bytes) -> Any:
    """What the SDKs show for a prefix; None where jiter has nothing to show."""
    data = prefix.encode("utf-8", "surrogatepass") if isinstance(prefix, str) else prefix
    try:
        return from_json(data, partial_mode="trailing-strings")
    except ValueError:
        return None


def same(a: Any, b: Any) -> bool:
    """Equal with the same types, key order and float spelling."""
    return repr(a) == repr(b) and (a == b or (isinstance(a, float) and math.isnan(a)))


def at(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def check_events(events: list[Any], final: Any) -> None:
    """The events of a whole document agree with the document."""
    texts: dict[tuple[Any, ...], str] = {}
    completed = set()
    for kind, path, value in events:
        assert isinstance(path, tuple)
        if kind == "object" or kind == "array":
            assert isinstance(at(final, path), dict if kind == "object" else list)
            assert value is None
        elif kind == "string":
            assert isinstance(value, str) and value
            texts[path] = texts.get(path, "") + value
        else:
            assert kind == "value"
            assert path not in completed
            completed.add(path)
            assert same(value, at(final, path))
            if isinstance(value, str):
                assert texts.pop(path, "") == value
    # a bare number ends only at close(), which returns it instead
    bare_number = isinstance(final, (int, float)) and not isinstance(final, bool)
    assert (() in completed) != bare_number and not texts


def feed_all(mod: ModuleType, chunks: list[Any]) -> tuple[list[Any], list[Any], Any]:
    """Feed every chunk: (events, value after each chunk, close() or the error)."""
    s = mod.JSONStream()
    events: list[Any] = []
    values = []
    try:
        for chunk in chunks:
            events += s.feed(chunk)
            values.append(s.value())
        return events, values, s.close()
    except JSONStreamError as exc:
        return events + exc.events, values + [s.value()], (exc.reason, exc.offset, exc.limit)


def check_prefixes(mod: ModuleType, chunks: list[Any]) -> Any:
    """After every chunk value() equals jiter on the prefix; returns close()."""
    s = mod.JSONStream()
    prefix = chunks[0][:0]
    events: list[Any] = []
    for chunk in chunks:
        events += s.feed(chunk)
        prefix += chunk
        expected = jiter_partial(prefix)
        assert same(s.value(), expected), (prefix, s.value(), expected)
    final = s.close()
    check_events(events, final)
    return final


def chars(text: str) -> list[str]:
    return list(text)


# -- examples and documentation ---------------------------------------------


def test_docstring_example_runs_on_both_twins(js: ModuleType) -> None:
    test = doctest.DocTestFinder().find(python_twin.JSONStream, "JSONStream", globs={})[0]
    test.globs = {"JSONStream": js.JSONStream}
    runner = doctest.DocTestRunner()
    runner.run(test)
    assert runner.summarize(verbose=False) == (0, len(test.examples)) and test.examples


def test_events_of_a_small_document(js: ModuleType) -> None:
    s = js.JSONStream()
    events = s.feed('{"a": [1, "xy') + s.feed('z", {}], "b": tr') + s.feed("ue}")
    assert [tuple(e) for e in events] == [
        ("object", (), None),
        ("array", ("a",), None),
        ("value", ("a", 0), 1),
        ("string", ("a", 1), "xy"),
        ("string", ("a", 1), "z"),
        ("value", ("a", 1), "xyz"),
        ("object", ("a", 2), None),
        ("value", ("a", 2), {}),
        ("value", ("a",), [1, "xyz", {}]),
        ("value", ("b",), True),
        ("value", (), {"a": [1, "xyz", {}], "b": True}),
    ]
    e = events[3]
    assert (e.kind, e.path, e.value) == ("string", ("a", 1), "xy")
    assert repr(e) == "JSONEvent('string', ('a', 1), 'xy')"
    assert type(e).__name__ == "JSONEvent" and type(e) is python_twin.JSONEvent
    assert s.done and s.close() == {"a": [1, "xyz", {}], "b": True}


def test_value_before_anything_and_bare_scalars(js: ModuleType) -> None:
    s = js.JSONStream()
    assert s.value() is None and not s.done
    s.feed("  -")
    assert s.value() is None  # jiter has nothing to show for "-"
    s.feed("12")
    assert s.value() == -12 and not s.done
    assert s.close() == -12 and s.done
    for doc, value in (("tr", None), ("true", True), ('"ab', "ab"), ("nul", None)):
        s = js.JSONStream()
        s.feed(doc)
        assert same(s.value(), value)


def test_snapshots_are_copies_of_the_open_containers(js: ModuleType) -> None:
    s = js.JSONStream()
    s.feed('{"a": [1, {"b": "x')
    v = s.value()
    v["a"].append(99)
    v["a"][1]["c"] = 0
    v["z"] = 1
    s.feed('y"}], "d": 2}')
    assert s.close() == {"a": [1, {"b": "xy"}], "d": 2}


# -- the corpus ---------------------------------------------------------------


def corpus_tool_arguments() -> list[tuple[str, list[str]]]:
    """The argument fragments of every tool call in the corpus, as sent."""
    out = []
    for path in sorted(CORPUS_DIR.glob("*.sse")):
        calls: dict[Any, list[str]] = {}
        try:
            deltas = ChatDecoder().feed(path.read_bytes())
        except Exception:  # streams that end in an in-band error
            continue
        for d in deltas:
            for tc in d.tool_calls or ():
                if tc.arguments:
                    calls.setdefault((d.index, tc.index), []).append(tc.arguments)
        out += [(f"{path.stem}{key}", frags) for key, frags in calls.items()]
    return out


TOOL_ARGUMENTS = corpus_tool_arguments()


def test_corpus_has_tool_arguments() -> None:
    assert len(TOOL_ARGUMENTS) >= 25


@pytest.mark.parametrize("name,fragments", TOOL_ARGUMENTS, ids=[n for n, _ in TOOL_ARGUMENTS])
def test_corpus_tool_arguments(js: ModuleType, name: str, fragments: list[str]) -> None:
    doc = "".join(fragments)
    try:
        expected = orjson.loads(doc)
    except orjson.JSONDecodeError:  # a stream cut off by max_tokens
        expected = NOTHING
    for chunks in (fragments, chars(doc), [c.encode() for c in fragments], list(doc.encode())):
        chunks = [bytes([c]) if isinstance(c, int) else c for c in chunks]
        if expected is NOTHING:
            with pytest.raises(JSONStreamError, match="unexpected end of input"):
                check_prefixes(js, chunks)
        else:
            assert same(check_prefixes(js, chunks), expected)


def corpus_payloads(per_file: int = 3) -> list[bytes]:
    out = []
    for path in sorted(CORPUS_DIR.glob("*.sse")):
        lines = [ln[5:].strip() for ln in path.read_bytes().splitlines() if ln.startswith(b"data:")]
        out += [ln for ln in lines if _is_json(ln)][:per_file]
    return out


def _is_json(data: bytes) -> bool:
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:  # [DONE] and the like
        return False
    return True


def test_corpus_payloads_every_prefix(js: ModuleType) -> None:
    payloads = corpus_payloads()
    assert len(payloads) > 100
    for data in payloads:
        text = data.decode()
        assert same(check_prefixes(js, chars(text)), orjson.loads(data))
        assert same(check_prefixes(js, [data[:7], data[7:50], data[50:]]), orjson.loads(data))


# -- splits everywhere ----------------------------------------------------------

ESCAPES = (
    '{"e": "q\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9\\u20AC \\ud83d\\ude00 \\uD834\\uDD1E",'
    ' "raw": "é€😀𝄞\x7f", "k\\u00e9y": ["\\u0000", ""]}'
)
NUMBERS = "[-12.5e+3, 0, -0, -0.0, 1E5, 7e-1, 123456789012345678901234567890, 0.1, 1e400, 3]"


@pytest.mark.parametrize("doc", [ESCAPES, NUMBERS, '"\\ud83d\\ude00"', "[true,false,null]"])
def test_split_at_every_position(js: ModuleType, doc: str) -> None:
    expected = json.loads(doc)
    data = doc.encode()
    for k in range(len(doc) + 1):
        assert same(check_prefixes(js, [doc[:k], doc[k:]]), expected)
    for k in range(len(data) + 1):
        assert same(check_prefixes(js, [data[:k], data[k:]]), expected)
    assert same(check_prefixes(js, chars(doc)), expected)
    assert same(check_prefixes(js, [bytes([b]) for b in data]), expected)


def test_numbers_are_exact(js: ModuleType) -> None:
    s = js.JSONStream()
    s.feed(NUMBERS)
    value = s.close()
    assert value[6] == 123456789012345678901234567890 and type(value[6]) is int
    assert value[8] == math.inf
    assert repr(value[3]) == "-0.0" and repr(value[2]) == "0"
    assert value[:6] == orjson.loads(NUMBERS.replace("1e400", "0"))[:6]


def test_strings_widen_across_representations(js: ModuleType) -> None:
    # ASCII, then Latin-1, then BMP, then astral characters in one string
    pieces = ['["ab', "cé", "d→", "e😀f", '", "😀", "é"]']
    value = check_prefixes(js, pieces)
    assert value == ["abcéd→e😀f", "😀", "é"]
    s = js.JSONStream()
    s.feed(pieces[0])
    assert s.value() == ["ab"] and s.feed(pieces[1])[0].value == "cé"
    assert s.feed(pieces[2])[0].value == "d→"
    # many strings that each widen the (reused) text buffer
    s = js.JSONStream()
    s.feed("[" + '"a𐀀Ā", ' * 5000 + '"é"]')
    assert s.close() == ["a𐀀Ā"] * 5000 + ["é"]


# -- bytes ------------------------------------------------------------------------


def test_bytes_may_split_utf8_sequences(js: ModuleType) -> None:
    doc = '{"t": "é€😀 ok"}'.encode()
    for k in range(len(doc) + 1):
        for j in range(k, len(doc) + 1):
            s = js.JSONStream()
            for chunk in (doc[:k], doc[k:j], doc[j:]):
                s.feed(chunk)
            assert s.close() == {"t": "é€😀 ok"}


def test_bytearray_and_memoryview(js: ModuleType) -> None:
    s = js.JSONStream()
    s.feed(bytearray(b'["a'))
    s.feed(memoryview(b'b"]'))
    assert s.close() == ["ab"]


def test_a_strided_memoryview_is_read_as_its_bytes(js: ModuleType) -> None:
    s = js.JSONStream()
    s.feed(memoryview(b"[[1,,22]]")[::2])
    assert s.close() == [1, 2]


def test_not_text_is_a_type_error(js: ModuleType) -> None:
    with pytest.raises(TypeError, match="str or bytes"):
        js.JSONStream().feed(12)


# -- errors ---------------------------------------------------------------------

ERRORS = [
    ("[1,]", "unexpected ']', expected a value", 3),
    ('{"a" 1}', "unexpected '1', expected ':'", 5),
    ("{,}", "unexpected ',', expected a string key or '}'", 1),
    ('{"a":1,}', "unexpected '}', expected a string key", 7),
    ("[1 2]", "unexpected '2', expected ',' or ']'", 3),
    ('{"a":1]', "unexpected ']', expected ',' or '}'", 6),
    ("[01]", "unexpected '1', expected '.', 'e' or the end of the number (no leading zeros)", 2),
    ("-a", "unexpected 'a', expected a digit", 1),
    ("1.e", "unexpected 'e', expected a digit after '.'", 2),
    ("1e+x", "unexpected 'x', expected a digit in the exponent", 3),
    ("1ex", "unexpected 'x', expected a sign or a digit in the exponent", 2),
    ("[.5]", "unexpected '.', expected a value or ']'", 1),
    ("tx", "unexpected 'x', expected 'true'", 1),
    ("nulL", "unexpected 'L', expected 'null'", 3),
    ("[1] x", "unexpected 'x', expected only whitespace after the document", 4),
    ('"a\nb"', "unexpected U+000A, expected an escape sequence for a control character", 2),
    ('"\\x"', "unexpected 'x', expected an escape character (one of \" \\ / b f n r t u)", 2),
    ('"\\u12g4"', "unexpected 'g', expected a hex digit", 5),
    ('"\\ud83d"', "unexpected '\"', expected a \\uDC00-\\uDFFF escape after a high surrogate escape", 7),
    ('"\\ud83d\\n"', "unexpected 'n', expected a \\uDC00-\\uDFFF escape after a high surrogate escape", 8),
    ('"\\ud83d\\u0041"', "unexpected '0', expected a \\uDC00-\\uDFFF escape after a high surrogate escape", 9),
    ('"\\ud83d\\ud83d"', "unexpected '8', expected a \\uDC00-\\uDFFF escape after a high surrogate escape", 10),
    ('"\\ude00"', "unexpected 'e', expected a high surrogate escape before a \\uDC00-\\uDFFF one", 4),
    ("[é]", "unexpected U+00E9, expected a value or ']'", 1),
    ("\ufeff[]", "unexpected U+FEFF, expected a value", 0),
    ('["\ud83d"]', "lone surrogate U+D83D (not encodable as UTF-8)", 2),
    ("[1\udc00]", "lone surrogate U+DC00 (not encodable as UTF-8)", 2),
    ("[NaN]", "unexpected 'N', expected a value or ']'", 1),
]


@pytest.mark.parametrize("doc,reason,offset", ERRORS)
def test_invalid_json_raises_where_it_becomes_invalid(
    js: ModuleType, doc: str, reason: str, offset: int
) -> None:
    s = js.JSONStream()
    for k, ch in enumerate(doc):
        if k < offset:
            s.feed(ch)  # still the prefix of some valid document
            continue
        with pytest.raises(JSONStreamError) as info:
            s.feed(ch)
        break
    else:  # pragma: no cover - the table is wrong
        pytest.fail("no error")
    err = info.value
    assert (err.reason, err.offset, err.limit) == (reason, offset, None)
    assert str(err) == f"{reason} at offset {offset}"
    assert same(s.value(), jiter_partial(doc[:offset]))
    with pytest.raises(JSONStreamError) as again:
        s.feed("]")
    assert again.value is err
    with pytest.raises(JSONStreamError):
        s.close()
    # the same error when the whole document comes at once, and as bytes
    for whole in (doc, doc.encode("utf-8", "surrogatepass")):
        with pytest.raises(JSONStreamError) as info:
            js.JSONStream().feed(whole)
        expected = reason
        if isinstance(whole, bytes) and "lone surrogate" in reason:
            expected = "invalid UTF-8 byte 0xed"
        assert (info.value.reason, info.value.offset) == (expected, offset)


def test_error_keeps_the_events_of_its_feed(js: ModuleType) -> None:
    s = js.JSONStream()
    s.feed("[")
    with pytest.raises(JSONStreamError) as info:
        s.feed('1, "a", x')
    assert [tuple(e) for e in info.value.events] == [
        ("value", (0,), 1),
        ("string", (1,), "a"),
        ("value", (1,), "a"),
    ]
    assert s.value() == [1, "a"]


@pytest.mark.parametrize(
    "doc,reason",
    [
        ("", "unexpected end of input: no JSON value"),
        ("   ", "unexpected end of input: no JSON value"),
        ('{"a": [1', "unexpected end of input with 2 unclosed array(s)/object(s)"),
        ('["ab', "unexpected end of input inside a string"),
        ('{"ab', "unexpected end of input inside an object key"),
        ("[tru", "unexpected end of input inside the literal 'true'"),
        ("1.", "unexpected end of input inside a number"),
        ("-", "unexpected end of input inside a number"),
    ],
)
def test_close_before_the_end(js: ModuleType, doc: str, reason: str) -> None:
    s = js.JSONStream()
    s.feed(doc)
    with pytest.raises(JSONStreamError) as info:
        s.close()
    assert (info.value.reason, info.value.offset) == (reason, len(doc))


def test_close_twice_and_feed_after_close(js: ModuleType) -> None:
    s = js.JSONStream()
    s.feed("[1] ")
    assert s.close() == [1] and s.close() == [1]
    with pytest.raises(JSONStreamError, match=r"feed\(\) after close\(\) at offset 4"):
        s.feed(" ")


def test_invalid_utf8(js: ModuleType) -> None:
    for data, offset, byte in ((b'["\xff"]', 2, "ff"), (b'["a\xe2\x28"]', 3, "e2"), (b"[\xc0\x80]", 1, "c0")):
        with pytest.raises(JSONStreamError) as info:
            js.JSONStream().feed(data)
        assert (info.value.reason, info.value.offset) == (f"invalid UTF-8 byte 0x{byte}", offset)
    # a sequence cut off by the end of input, or followed by a str fragment
    for then in ("close", "str"):
        s = js.JSONStream()
        s.feed(b'["\xe2\x82')
        with pytest.raises(JSONStreamError) as info:
            s.close() if then == "close" else s.feed('"]')
        assert (info.value.reason, info.value.offset) == ("invalid UTF-8 byte 0xe2", 2)


# -- limits ---------------------------------------------------------------------


def test_max_depth(js: ModuleType) -> None:
    s = js.JSONStream(max_depth=3)
    s.feed('[{"a": [')
    with pytest.raises(JSONStreamError) as info:
        s.feed("[]")
    assert info.value.limit == 3 and info.value.offset == 8
    assert info.value.reason == "nesting deeper than max_depth=3"
    assert s.value() == [{"a": []}]
    s = js.JSONStream()
    s.feed("[" * 512 + "]" * 512)
    with pytest.raises(JSONStreamError, match="max_depth=512"):
        js.JSONStream().feed("[" * 513)


def test_max_size(js: ModuleType) -> None:
    s = js.JSONStream(max_size=10)
    s.feed('["abc", ')
    with pytest.raises(JSONStreamError) as info:
        s.feed('"d"]')  # 12 characters in all
    assert (info.value.reason, info.value.offset, info.value.limit) == (
        "input longer than max_size=10",
        8,
        10,
    )
    assert s.value() == ["abc"]
    s = js.JSONStream(max_size=4)
    s.feed('"é'.encode())  # 3 bytes
    with pytest.raises(JSONStreamError, match="max_size=4"):
        s.feed(b'"]')
    s = js.JSONStream(max_size=None)
    s.feed("[" + "1," * 1000 + "1]")
    assert len(s.close()) == 1001


def test_number_length_limit(js: ModuleType) -> None:
    s = js.JSONStream()
    s.feed("[" + "9" * 4300 + "]")
    assert s.close() == [int("9" * 4300)]
    with pytest.raises(JSONStreamError) as info:
        js.JSONStream().feed("[-" + "9" * 4300)
    assert info.value.limit == 4300 and info.value.offset == 4301


@pytest.mark.skipif(not hasattr(sys, "set_int_max_str_digits"), reason="the interpreter has no int digit limit")
def test_number_length_limit_follows_a_lower_interpreter_limit(js: ModuleType) -> None:
    # PYTHONINTMAXSTRDIGITS=1000: a 1001-digit number cannot become an int;
    # it is the limit's typed error (int()'s ValueError ended the stream)
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(1000)
    try:
        s = js.JSONStream()
        s.feed('{"n": ' + "1" * 1000 + ",")
        assert s.value() == {"n": int("1" * 1000)}
        with pytest.raises(JSONStreamError) as info:
            js.JSONStream().feed('{"n": ' + "1" * 1001 + "}")
        assert info.value.limit == 1000 and "number longer than 1000 characters" in str(info.value)
    finally:
        sys.set_int_max_str_digits(before)


def test_bad_parameters(js: ModuleType) -> None:
    with pytest.raises(ValueError, match="max_depth"):
        js.JSONStream(max_depth=0)
    with pytest.raises(ValueError, match="max_size"):
        js.JSONStream(max_size=-1)
    with pytest.raises(TypeError):
        js.JSONStream(10)  # keyword-only
