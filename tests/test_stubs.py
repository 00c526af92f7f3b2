"""The .pyi of each compiled module matches its Python twin.

A compiled module (``turbosse/_<piece>_c.pyx``) carries no annotations of its
own: type checkers and IDEs read ``_<piece>_c.pyi``. These tests keep that stub
honest by comparing it, with ``ast``, against the Python twin
``_<piece>_py.py`` through ``inspect``: the same public names, the same classes
with the same members, and the same signatures (parameter names, kinds,
defaults and annotations). When the compiled twin is required (the default,
see conftest.py) the stub is also checked against the compiled module itself:
every name it declares exists there, the compiled classes have no public
member the stub forgets, and method parameters agree.

The files are found next to the imported package, so the tests check what a
wheel ships, not only the source tree.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import c_extensions_required

import turbosse

PACKAGE_DIR = Path(turbosse.__file__).resolve().parent

# Every compiled piece of the package: a "_<piece>_c.pyi" stub or a
# "_<piece>_c.pyx" source names it (the wheel ships both; either is enough).
PIECES = sorted(
    {p.name[1 : -len("_c.pyi")] for p in PACKAGE_DIR.glob("_*_c.pyi")}
    | {p.name[1 : -len("_c.pyx")] for p in PACKAGE_DIR.glob("_*_c.pyx")}
)

# Dunders worth comparing when a stub declares them; object's own defaults
# (__repr__, __setattr__, ...) need no stub entry.
_NO_DEFAULT = object()  # marks a parameter without a default
_STUB_ELLIPSIS = object()  # a stub default written as "..."


@dataclass(frozen=True)
class Param:
    name: str
    kind: inspect._ParameterKind
    default: object  # _NO_DEFAULT, _STUB_ELLIPSIS or the literal value
    annotation: str | None


@dataclass(frozen=True)
class Member:
    kind: str  # "method", "property", "staticmethod", "classmethod", "attribute"
    params: tuple[Param, ...] = ()
    returns: str | None = None


def _norm(annotation: str | None) -> str | None:
    """One spelling per annotation: parse and unparse it."""
    if annotation is None:
        return None
    return ast.unparse(ast.parse(annotation, mode="eval"))


def _literal(node: ast.expr) -> object:
    if isinstance(node, ast.Constant) and node.value is Ellipsis:
        return _STUB_ELLIPSIS
    try:
        return ast.literal_eval(node)
    except ValueError:  # a name such as DEFAULT_MAX_EVENT_BYTES
        return ast.unparse(node)


# -- the stub, read with ast ------------------------------------------------


def _stub_params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[Param, ...]:
    a = fn.args
    kinds = inspect.Parameter
    out: list[Param] = []
    positional = [*a.posonlyargs, *a.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults))
    defaults += a.defaults
    for i, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        kind = kinds.POSITIONAL_ONLY if i < len(a.posonlyargs) else kinds.POSITIONAL_OR_KEYWORD
        out.append(_stub_param(arg, kind, default))
    if a.vararg:
        out.append(_stub_param(a.vararg, kinds.VAR_POSITIONAL, None))
    for arg, kw_default in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        out.append(_stub_param(arg, kinds.KEYWORD_ONLY, kw_default))
    if a.kwarg:
        out.append(_stub_param(a.kwarg, kinds.VAR_KEYWORD, None))
    return tuple(out)


def _stub_param(arg: ast.arg, kind: inspect._ParameterKind, default: ast.expr | None) -> Param:
    annotation = ast.unparse(arg.annotation) if arg.annotation else None
    value = _NO_DEFAULT if default is None else _literal(default)
    return Param(arg.arg, kind, value, _norm(annotation))


def _stub_function(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Member:
    decorators = {ast.unparse(d) for d in fn.decorator_list}
    returns = _norm(ast.unparse(fn.returns)) if fn.returns else None
    if "property" in decorators:
        return Member("property", returns=returns)
    kind = "method"
    for special in ("staticmethod", "classmethod"):
        if special in decorators:
            kind = special
    return Member(kind, _stub_params(fn), returns)


@dataclass
class Stub:
    names: set[str]  # public top-level names
    constants: set[str]  # top-level annotated or assigned names
    functions: dict[str, Member]
    classes: dict[str, dict[str, Member]]
    docs: dict[str, str | None]  # "function", "Class" and "Class.member" -> docstring


def _is_typevar(value: ast.expr) -> bool:
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "TypeVar"


def read_stub(path: Path) -> Stub:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    stub = Stub(set(), set(), {}, {}, {})
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members: dict[str, Member] = {}
            stub.docs[node.name] = ast.get_docstring(node)
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    members[item.name] = _stub_function(item)
                    stub.docs[f"{node.name}.{item.name}"] = ast.get_docstring(item)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    members[item.target.id] = Member(
                        "attribute", returns=_norm(ast.unparse(item.annotation))
                    )
            stub.classes[node.name] = members
            stub.names.add(node.name)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stub.functions[node.name] = _stub_function(node)
            stub.docs[node.name] = ast.get_docstring(node)
            stub.names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            stub.constants.add(node.target.id)
            stub.names.add(node.target.id)
        elif isinstance(node, ast.Assign) and not _is_typevar(node.value):  # a TypeVar is for type checkers only
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id != "__all__":
                    stub.constants.add(target.id)
                    stub.names.add(target.id)
    stub.names = {n for n in stub.names if not n.startswith("_")}
    return stub


# -- the Python twin, read with inspect ---------------------------------------


def _annotation(value: Any) -> str | None:
    if value is inspect.Parameter.empty or value is inspect.Signature.empty:
        return None
    if isinstance(value, str):  # from __future__ import annotations
        return _norm(value)
    return _norm(inspect.formatannotation(value))


def _runtime_params(fn: Any, with_annotations: bool = True) -> tuple[Param, ...]:
    out = []
    for p in inspect.signature(fn).parameters.values():
        default = _NO_DEFAULT if p.default is inspect.Parameter.empty else p.default
        annotation = _annotation(p.annotation) if with_annotations else None
        out.append(Param(p.name, p.kind, default, annotation))
    return tuple(out)


def _runtime_member(owner: type, name: str) -> Member:
    raw = inspect.getattr_static(owner, name)
    if isinstance(raw, property):
        assert raw.fget is not None
        returns = _annotation(inspect.signature(raw.fget).return_annotation)
        return Member("property", returns=returns)
    if isinstance(raw, (staticmethod, classmethod)):
        kind = type(raw).__name__
        fn = raw.__func__
    elif callable(raw):
        kind, fn = "method", raw
    else:
        return Member("attribute")
    sig = inspect.signature(fn)
    return Member(kind, _runtime_params(fn), _annotation(sig.return_annotation))


def _own_members(cls: type) -> set[str]:
    """Names defined by the class itself or its bases, object's excluded."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is not object:
            names.update(vars(klass))
    return names


def _same_params(stub: tuple[Param, ...], twin: tuple[Param, ...], compare_defaults: bool) -> bool:
    if len(stub) != len(twin):
        return False
    for s, t in zip(stub, twin, strict=True):
        if (s.name, s.kind) != (t.name, t.kind):
            return False
        if (s.default is _NO_DEFAULT) != (t.default is _NO_DEFAULT):
            return False
        if compare_defaults and s.default not in (_NO_DEFAULT, _STUB_ELLIPSIS):
            if isinstance(s.default, str) and not isinstance(t.default, str):
                continue  # a name in the stub (e.g. a constant): presence is enough
            if s.default != t.default:
                return False
        if t.annotation is not None and s.annotation != t.annotation:
            return False
    return True


def _fmt(params: tuple[Param, ...]) -> str:
    return ", ".join(f"{p.name}:{p.kind.name}:{p.annotation}" for p in params)


# -- the tests ----------------------------------------------------------------


def test_every_compiled_piece_is_found() -> None:
    # Guards the glob: if the package moved, the tests below would check nothing.
    assert "parser" in PIECES, f"no _*_c.pyi/.pyx found in {PACKAGE_DIR}"


@pytest.fixture(params=PIECES)
def piece(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def stub(piece: str) -> Stub:
    path = PACKAGE_DIR / f"_{piece}_c.pyi"
    assert path.is_file(), f"turbosse._{piece}_c has no stub: write {path.name}"
    return read_stub(path)


@pytest.fixture
def twin_py(piece: str) -> ModuleType:
    return importlib.import_module(f"turbosse._{piece}_py")


def test_py_typed_ships() -> None:
    assert (PACKAGE_DIR / "py.typed").is_file()


def test_stub_names_match_python_twin(piece: str, stub: Stub, twin_py: ModuleType) -> None:
    exported = getattr(twin_py, "__all__", None)
    assert exported is not None, f"turbosse._{piece}_py must define __all__"
    assert stub.names == set(exported), (
        f"_{piece}_c.pyi declares {sorted(stub.names)}, _{piece}_py.__all__ is {sorted(exported)}"
    )


def test_stub_classes_match_python_twin(piece: str, stub: Stub, twin_py: ModuleType) -> None:
    problems: list[str] = []
    for cls_name, members in stub.classes.items():
        cls = getattr(twin_py, cls_name)
        twin_names = _own_members(cls)
        # Every public member of the Python twin is in the stub.
        public = {n for n in twin_names if not n.startswith("_")}
        missing = public - set(members)
        if missing:
            problems.append(f"{cls_name}: the stub lacks {sorted(missing)}")
        # Everything the stub declares exists in the twin, with the same shape.
        for name, declared in members.items():
            where = f"{cls_name}.{name}"
            if name not in twin_names:
                problems.append(f"{where}: declared in the stub, absent in _{piece}_py")
                continue
            actual = _runtime_member(cls, name)
            if declared.kind == "attribute":
                continue  # slots and instance attributes: presence is what can be checked
            if declared.kind != actual.kind:
                problems.append(f"{where}: stub says {declared.kind}, twin has {actual.kind}")
                continue
            if actual.returns is not None and declared.returns != actual.returns:
                problems.append(f"{where}: returns {declared.returns} vs {actual.returns}")
            if declared.kind != "property" and not _same_params(
                declared.params, actual.params, compare_defaults=True
            ):
                problems.append(
                    f"{where}: stub ({_fmt(declared.params)}) vs twin ({_fmt(actual.params)})"
                )
    for fn_name, declared in stub.functions.items():
        fn = getattr(twin_py, fn_name, None)
        if fn is None:
            problems.append(f"{fn_name}: declared in the stub, absent in _{piece}_py")
            continue
        actual = Member("function", _runtime_params(fn))
        if not _same_params(declared.params, actual.params, compare_defaults=True):
            problems.append(
                f"{fn_name}: stub ({_fmt(declared.params)}) vs twin ({_fmt(actual.params)})"
            )
    assert not problems, "\n".join(problems)


@pytest.fixture
def twin_c(piece: str, request: pytest.FixtureRequest) -> ModuleType:
    if not c_extensions_required(request.config):
        pytest.skip("compiled twin not required (pure-Python leg)")
    return importlib.import_module(f"turbosse._{piece}_c")


def test_stub_matches_compiled_module(
    piece: str, stub: Stub, twin_c: ModuleType, twin_py: ModuleType
) -> None:
    problems: list[str] = []
    for name in sorted(stub.names | stub.constants):
        if not hasattr(twin_c, name):
            problems.append(f"{name}: declared in the stub, absent in the compiled module")
    for name in sorted(stub.constants):
        both = hasattr(twin_c, name) and hasattr(twin_py, name)
        if both and getattr(twin_c, name) != getattr(twin_py, name):
            problems.append(f"{name}: differs between the twins")
    for cls_name, members in stub.classes.items():
        cls = getattr(twin_c, cls_name, None)
        if cls is None:
            continue
        compiled_public = {n for n in _own_members(cls) if not n.startswith("_")}
        undeclared = compiled_public - set(members)
        if undeclared:
            problems.append(
                f"{cls_name}: compiled members missing from the stub: {sorted(undeclared)}"
            )
        for name, declared in members.items():
            if not hasattr(cls, name):
                problems.append(f"{cls_name}.{name}: absent in the compiled class")
                continue
            if declared.kind != "method" or name.startswith("__"):
                # Special methods of a compiled class are slot wrappers with
                # positional-only (self, value) signatures; the Python-twin
                # comparison and the behavioural tests cover them.
                continue
            try:
                actual = _runtime_params(getattr(cls, name), with_annotations=False)
            except (TypeError, ValueError):
                continue
            if not _same_params(declared.params, actual, compare_defaults=False):
                problems.append(
                    f"{cls_name}.{name}: stub ({_fmt(declared.params)}) vs compiled "
                    f"({_fmt(actual)})"
                )
    assert not problems, "\n".join(problems)


def test_init_keyword_only_in_both_twins(
    piece: str, stub: Stub, twin_py: ModuleType, request: pytest.FixtureRequest
) -> None:
    """Where the stub makes every constructor argument keyword-only, both twins
    refuse a positional one (the compiled __init__ has no inspectable signature)."""
    modules = [twin_py]
    if c_extensions_required(request.config):
        modules.append(importlib.import_module(f"turbosse._{piece}_c"))
    for cls_name, members in stub.classes.items():
        init = members.get("__init__")
        if init is None:
            continue
        params = [p for p in init.params if p.name != "self"]
        if not params or any(p.kind is not inspect.Parameter.KEYWORD_ONLY for p in params):
            continue
        if any(p.default is _NO_DEFAULT for p in params):
            continue
        for module in modules:
            with pytest.raises(TypeError):
                getattr(module, cls_name)(object())


# -- docstrings: written once, in the Python twin ---------------------------
#
# The Python twin's docstrings are the source. The compiled twin (.pyx) and
# the stub (.pyi) carry copies, because a cdef class's docstrings are fixed at
# compile time and IDEs read the stub; these tests keep both copies equal to
# the source, so what help() and an IDE show cannot drift.

_SIGNATURE_LINE = re.compile(r"\A[\w.]+\(.*\)(?: -> .+)?\n")


def _doc(obj: object) -> str | None:
    """A docstring as help() shows it, minus the signature line Cython adds
    (or that a compiled class writes by hand); None when there is none."""
    doc = obj.__doc__ if not isinstance(obj, property) else obj.__doc__ or (obj.fget and obj.fget.__doc__)
    if not doc:
        return None
    doc = _SIGNATURE_LINE.sub("", doc, count=1)
    return inspect.cleandoc(doc) or None


def _public_docs(module: ModuleType, stub: Stub) -> dict[str, str | None]:
    """Docstrings of every function and class the stub declares and of the
    classes' public members, from the given module."""
    docs: dict[str, str | None] = {}
    for fn_name in stub.functions:
        if not fn_name.startswith("_"):
            docs[fn_name] = _doc(getattr(module, fn_name))
    for cls_name in stub.classes:
        cls = getattr(module, cls_name)
        docs[cls_name] = _doc(cls)
        for name in sorted(_own_members(cls)):
            if not name.startswith("_"):
                docs[f"{cls_name}.{name}"] = _doc(inspect.getattr_static(cls, name))
    return docs


def test_stub_docstrings_match_python_twin(piece: str, stub: Stub, twin_py: ModuleType) -> None:
    source = _public_docs(twin_py, stub)
    assert source, f"_{piece}_py documents no function or class"
    problems = [
        f"{where}: the stub says {stub.docs.get(where)!r}, _{piece}_py says {doc!r}"
        for where, doc in source.items()
        if stub.docs.get(where) != doc
    ]
    assert not problems, "\n".join(problems)


def test_compiled_docstrings_match_python_twin(
    piece: str, stub: Stub, twin_c: ModuleType, twin_py: ModuleType
) -> None:
    source = _public_docs(twin_py, stub)
    compiled = _public_docs(twin_c, stub)
    problems = [
        f"{where}: help() of _{piece}_c shows {compiled.get(where)!r}, _{piece}_py says {doc!r}"
        for where, doc in source.items()
        if doc is not None and compiled.get(where) != doc
    ]
    assert not problems, "\n".join(problems)


def test_decoder_docs_name_every_format() -> None:
    from turbosse import ChatDecoder, _formats

    doc = ChatDecoder.__doc__ or ""
    missing = [name for name in _formats.FORMATS if f'``"{name}"``' not in doc]
    assert not missing, f"ChatDecoder's docstring does not list {missing}"
    module_doc = _formats.__doc__ or ""
    missing = [n for n in _formats.FORMAT_NAMES.values() if n != "openai-chat" and f"``{n}``" not in module_doc]
    assert not missing, f"_formats' opening docstring does not list {missing}"
