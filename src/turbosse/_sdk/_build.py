"""Build an SDK's pydantic models from decoded JSON, equal to what the SDK's
own ``construct_type`` builds, without its per-call type inspection.

``construct_type`` walks a type's annotations on every call (``get_origin``,
``is_union``, subclass checks, a cached ``TypeAdapter`` looked up by type) and
spends about 85% of the SDK's time per streamed chunk doing it. A
:class:`ModelBuilder` makes that walk once per type and keeps a small function
per field; what the functions do is the SDK's algorithm, step for step:

- a model from a dict: ``construct`` (no validation): each field by its alias
  (or name with ``populate_by_name``), ``None`` or absent -> the field default,
  keys that are not field names -> ``__pydantic_extra__``, the given names ->
  ``__pydantic_fields_set__``;
- a union: validated with pydantic first (what the SDK does), one
  ``TypeAdapter`` per union kept here; a value of exactly a listed scalar type
  skips that (validation returns such a value unchanged);
- lists and dicts element by element, an ``int`` where a ``float`` is
  expected made a float when exact, anything else as it is.

Whatever this does not reproduce exactly (a union that fails validation, a
type alias, a date, a generic model, a value that is not plain JSON) goes to
the SDK's own ``construct_type``, so the result is the SDK's in every case.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any, Literal, get_args, get_origin

__all__ = ["ModelBuilder"]

Convert = Callable[[Any], Any]

_SCALARS = (str, int, float, bool)
_IMMUTABLE = (type(None), str, int, float, bool, bytes, tuple, frozenset)
_NONE = type(None)


def _identity(value: Any) -> Any:
    return value


class ModelBuilder:
    """One per SDK (its ``_models`` module); thread-safe after warm-up (the
    tables only grow, and a race builds the same function twice)."""

    def __init__(self, models: ModuleType) -> None:
        self._m = models
        self._base = (models.BaseModel, models.GenericModel)
        self._converters: dict[Any, Convert] = {}
        self._models: dict[type, Convert] = {}

    def converter(self, type_: Any) -> Convert:
        """``value -> construct_type(value=value, type_=type_)``, fast."""
        conv = self._converters.get(type_)
        if conv is None:
            conv = self._converters[type_] = self._make(type_, None)
        return conv

    # -- the walk, made once per type ------------------------------------------

    def _slow(self, type_: Any, metadata: Any) -> Convert:
        construct_type = self._m.construct_type
        if metadata:
            return lambda value: construct_type(value=value, type_=type_, metadata=metadata)
        return lambda value: construct_type(value=value, type_=type_)

    def _make(self, type_: Any, metadata: list[Any] | None) -> Convert:
        m = self._m
        slow = self._slow(type_, metadata)
        if m.is_type_alias_type(type_):
            return slow
        bare = type_
        if metadata:
            pass
        elif m.is_annotated_type(type_):
            bare = m.extract_type_arg(type_, 0)
        origin = get_origin(bare) or bare
        args = get_args(bare)
        if m.is_union(origin):
            return self._union(bare, args, slow)
        if origin is dict:
            if len(args) < 2:
                return slow  # the SDKs differ on bare dicts
            return self._dict(self._make(args[1], None), slow)
        if not m.is_literal_type(bare) and inspect.isclass(origin) and issubclass(origin, self._base):
            if bare is not origin or not issubclass(bare, m.BaseModel):
                return slow  # generic models
            return self._model_value(bare, slow)
        if origin is list:
            if not args:
                return slow
            return self._list(self._make(args[0], None), slow)
        if origin is float:
            return _float
        if bare in (m.datetime, m.date):
            return slow
        return _identity

    def _union(self, union: Any, args: tuple[Any, ...], slow: Convert) -> Convert:
        scalars: set[type] = set()
        literals: set[Any] = set()
        for arg in args:
            if arg is _NONE:
                scalars.add(_NONE)
            elif arg in _SCALARS:
                scalars.add(arg)
            elif get_origin(arg) is Literal:
                literals.update(get_args(arg))
        if float in scalars and int not in scalars:
            scalars.discard(int)  # validation makes an int a float: leave it to pydantic
        literal_values = frozenset(v for v in literals if type(v) is str)
        validate = self._validator(union, args, slow)

        def convert(value: Any) -> Any:
            t = type(value)
            if t in scalars or (t is str and value in literal_values):
                return value
            if t is dict or t is list:
                return validate(value)
            return slow(value)

        return convert

    def _validator(self, union: Any, args: tuple[Any, ...], slow: Convert) -> Convert:
        """Validation of a dict or list against the union, as pydantic does it,
        else the SDK's fallback. Where one variant is the only one that can
        accept the value, that variant's own validator gives pydantic's union
        result without trying (and failing) every other variant:
        ``Optional[X]`` (``None`` accepts no dict or list), and a union of
        models told apart by a literal field (``type``) whose values name one
        variant each."""
        from pydantic import TypeAdapter

        others = [a for a in args if a is not _NONE]
        if len(others) == 1:
            one: list[Convert] = []

            def validate_one(value: Any) -> Any:
                if not one:
                    one.append(TypeAdapter(others[0]).validate_python)
                try:
                    return one[0](value)
                except Exception:
                    return slow(value)

            return validate_one
        tagged = self._tags(others)
        whole: list[Convert] = []  # made on first need: most unions never see a dict

        def validate(value: Any) -> Any:
            if tagged is not None and type(value) is dict:
                key, variants = tagged
                tag = value.get(key)
                cls = variants.get(tag) if type(tag) is str else None
                if cls is not None:
                    try:
                        return cls.model_validate(value)
                    except Exception:
                        return slow(value)
            if not whole:
                whole.append(TypeAdapter(union).validate_python)
            try:
                return whole[0](value)
            except Exception:
                return slow(value)

        return validate

    def _tags(self, variants: list[Any]) -> tuple[str, dict[Any, Any]] | None:
        """``(key, {tag: variant})`` when every variant is a model class with
        the same literal field and no tag names two variants, else None."""
        base = self._m.BaseModel
        key: str | None = None
        mapping: dict[Any, Any] = {}
        seen: set[Any] = set()
        for cls in variants:
            if not (inspect.isclass(cls) and issubclass(cls, base)):
                return None
            fields = self._m.get_model_fields(cls)
            field = fields.get("type")
            if field is None or get_origin(field.annotation) is not Literal:
                return None
            alias = field.alias or "type"
            if key is None:
                key = alias
            elif key != alias:
                return None
            for tag in get_args(field.annotation):
                if tag in seen:
                    mapping.pop(tag, None)  # two variants: pydantic decides
                else:
                    seen.add(tag)
                    mapping[tag] = cls
        return (key, mapping) if key is not None else None

    def _dict(self, item: Convert, slow: Convert) -> Convert:
        def convert(value: Any) -> Any:
            if type(value) is dict:
                return {k: item(v) for k, v in value.items()}
            return slow(value)

        return convert

    def _list(self, item: Convert, slow: Convert) -> Convert:
        def convert(value: Any) -> Any:
            if type(value) is list:
                return [item(v) for v in value]
            return slow(value)

        return convert

    def _model_value(self, cls: type, slow: Convert) -> Convert:
        build: list[Convert] = []  # resolved on first use: models refer to each other

        def convert(value: Any) -> Any:
            if not build:
                build.append(self.model(cls))
            t = type(value)
            if t is dict:
                return build[0](value)
            if t is list:  # the SDK builds each mapping in a list given for a model
                return [build[0](v) if type(v) is dict else v for v in value]
            if t in _SCALARS or value is None:
                return value
            return slow(value)

        return convert

    def model(self, cls: type) -> Convert:
        """``dict -> cls.construct(**dict)``, fast."""
        fn = self._models.get(cls)
        if fn is None:
            fn = self._models[cls] = self._model(cls)
        return fn

    def _model(self, cls: Any) -> Convert:
        m = self._m
        config = m.get_model_config(cls)
        populate_by_name = bool(config.get("populate_by_name"))
        model_fields = m.get_model_fields(cls)
        names = frozenset(model_fields)
        extra_type = m._get_extra_fields_type(cls)
        extra_conv = self._make(extra_type, None) if extra_type is not None else None
        field_get_default = m.field_get_default
        plan: list[tuple[str, str, str | None, Convert, Any, Any]] = []
        for name, field in model_fields.items():
            key = field.alias if field.alias is not None else name
            second = name if (field.alias is not None and populate_by_name) else None
            if field.annotation is None:
                conv = self._slow_field(field, key)
            else:
                conv = self._make(field.annotation, getattr(field, "metadata", None))
            if field.default_factory is None and isinstance(field_get_default(field), _IMMUTABLE):
                default, factory = field_get_default(field), None
            else:
                default, factory = None, field
            plan.append((name, key, second, conv, default, factory))
        setattr_ = object.__setattr__
        new = cls.__new__
        construct = cls.construct

        def build(values: dict[str, Any]) -> Any:
            if "_fields_set" in values or "__cls" in values:
                return construct(**values)  # construct's own parameters, as the SDK passes them
            obj = new(cls)
            d: dict[str, Any] = {}
            fields_set: set[str] = set()
            for name, key, second, conv, default, factory in plan:
                if key not in values and second is not None:
                    key = second
                if key in values:
                    value = values[key]
                    fields_set.add(name)
                    if value is not None:
                        d[name] = conv(value)
                        continue
                d[name] = default if factory is None else field_get_default(factory)
            extra: dict[str, Any] = {}
            if len(fields_set) != len(values) or not names.issuperset(values):
                for key, value in values.items():
                    if key not in names:
                        extra[key] = extra_conv(value) if extra_conv is not None else value
            setattr_(obj, "__dict__", d)
            setattr_(obj, "__pydantic_private__", None)
            setattr_(obj, "__pydantic_extra__", extra)
            setattr_(obj, "__pydantic_fields_set__", fields_set)
            return obj

        return build

    def _slow_field(self, field: Any, key: str) -> Convert:
        construct_field = self._m._construct_field
        return lambda value: construct_field(value=value, field=field, key=key)


def _float(value: Any) -> Any:
    if type(value) is int:
        coerced = float(value)
        return value if coerced != value else coerced
    return value
