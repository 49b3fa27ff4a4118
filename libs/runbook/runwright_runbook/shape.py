"""Every shape error of a runbook at once, each with the path of its field.

msgspec stops at the first error it meets. This walks the document along the model's types
instead: each struct's unknown and missing fields, each tagged union's ``type``, each list item
and map entry, and converts only the leaves, so one pass finds every error, in document order.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Iterator
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec

from runwright_runbook.errors import FieldError

_MISSING = "Object missing required field `{}`"
_UNKNOWN = "Object contains unknown field `{}`"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _strip(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    """The type without ``Annotated``, and its metadata."""
    if get_origin(annotation) is Annotated:
        base, *meta = get_args(annotation)
        return base, tuple(meta)
    return annotation, ()


def _is_struct(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)


def _leaf(value: Any, annotation: Any, path: str) -> Iterator[FieldError]:
    try:
        msgspec.convert(value, annotation)
    except msgspec.ValidationError as exc:
        yield leaf_error(exc, path)


def leaf_error(exc: msgspec.ValidationError, path: str) -> FieldError:
    """msgspec's message with its ``- at `$...``` suffix turned into a field path."""
    text = str(exc)
    message, _, where = text.partition(" - at `$")
    suffix = where.rstrip("`").lstrip(".")
    full = f"{path}{suffix}" if suffix.startswith("[") else _join(path, suffix) if suffix else path
    return FieldError(full or "runbook", message)


def errors(value: Any, annotation: Any, path: str = "") -> Iterator[FieldError]:
    """Every error of ``value`` read as ``annotation``, at ``path``."""
    base, meta = _strip(annotation)
    origin = get_origin(base)
    if _is_struct(base):
        yield from _struct(value, base, path)
    elif origin in (Union, types.UnionType) and any(_is_struct(a) for a in get_args(base)):
        yield from _union(value, base, path)
    elif origin is list and _holds_structs(get_args(base)[0]):
        if meta or not isinstance(value, list):
            yield from _leaf(value, Annotated[(list[Any], *meta)] if meta else list[Any], path)
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from errors(item, get_args(base)[0], f"{path}[{index}]")
    elif origin is dict and _holds_structs(get_args(base)[1]):
        if not isinstance(value, dict):
            yield from _leaf(value, dict[str, Any], path)
            return
        for key, item in value.items():
            yield from errors(item, get_args(base)[1], _join(path, str(key)))
    else:
        yield from _leaf(value, annotation, path)


def _holds_structs(annotation: Any) -> bool:
    base, _ = _strip(annotation)
    return _is_struct(base) or any(_is_struct(a) for a in get_args(base))


@functools.cache
def _fields(cls: type[msgspec.Struct]) -> dict[str, msgspec.structs.FieldInfo]:
    """A struct's fields by encoded name; read once per class (resolving its annotations is the
    costly part of a walk)."""
    return {f.encode_name: f for f in msgspec.structs.fields(cls)}


def _struct(value: Any, cls: type[msgspec.Struct], path: str) -> Iterator[FieldError]:
    if not isinstance(value, dict):
        yield from _leaf(value, cls, path)
        return
    fields = _fields(cls)
    config = cls.__struct_config__
    for key in value:
        if key not in fields and key != config.tag_field:
            yield FieldError(_join(path, str(key)), _UNKNOWN.format(key))
    for name, info in fields.items():
        if name in value:
            yield from errors(value[name], info.type, _join(path, name))
        elif info.required:
            yield FieldError(_join(path, name), _MISSING.format(name))


def _union(value: Any, union: Any, path: str) -> Iterator[FieldError]:
    members = get_args(union)
    structs = [m for m in members if _is_struct(m)]
    if value is None and type(None) in members:
        return
    if len(structs) == 1:
        yield from errors(value, structs[0], path)
        return
    tag_field = structs[0].__struct_config__.tag_field
    by_tag = {m.__struct_config__.tag: m for m in structs}
    if not isinstance(value, dict):
        yield from _leaf(value, union, path)
    elif tag_field not in value:
        yield FieldError(_join(path, str(tag_field)), _MISSING.format(tag_field))
    elif value[tag_field] not in by_tag:
        valid = ", ".join(str(tag) for tag in by_tag)
        yield FieldError(
            _join(path, str(tag_field)),
            f"Invalid value {value[tag_field]!r}: `{tag_field}` must be one of {valid}",
        )
    else:
        yield from _struct(value, by_tag[value[tag_field]], path)
