"""Samples of every message on the bus, as this release encodes them:
``tests/data/messages/<release>/<Type>.json``. Each release's samples are kept as they were
written; the current types must still decode every one of them (``tests/test_message_samples.py``).

At each release: ``python -m tests.support.message_samples <release>`` writes the samples of a new
release directory (existing files are never overwritten), then commit them.
"""

from __future__ import annotations

import sys
import types
import typing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
from runwright_proto import commands
from runwright_proto.channels import CHANNELS

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "messages"


def bus_types() -> list[type[msgspec.Struct]]:
    """Every Struct published on a subject or sent as a reply (tagged unions as their members)."""
    found: set[type[msgspec.Struct]] = {commands.ErrorReply}
    for channel in CHANNELS:
        for item in (*channel.messages, *channel.replies):
            for member in typing.get_args(item) or (item,):
                if isinstance(member, type) and issubclass(member, msgspec.Struct):
                    found.add(member)
    return sorted(found, key=name)


def name(kind: type) -> str:
    return f"{kind.__module__.removeprefix('runwright_proto.')}.{kind.__name__}"


WHEN = datetime(2026, 12, 6, 12, 30, 15, 250000, tzinfo=UTC)


def _value(hint: Any, field: str) -> Any:
    """A representative value of ``hint`` (every optional part filled in, so a sample shows as
    much of the message as it can)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        return _value(args[0], field)
    if origin is typing.Literal:
        return args[-1] if field == "status" and len(args) > 1 else args[0]
    if origin in (typing.Union, types.UnionType):
        real = [a for a in args if a is not type(None)]
        return _value(real[0], field)
    if origin in (list, tuple, set, frozenset):
        return [_value(args[0], field)] if args else []
    if origin is dict:
        return {"key": _value(args[1], field)}
    if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
        return sample(hint)
    if hint is bool:
        return True
    if hint is int:
        return 3
    if hint is float:
        return 1.5
    if hint is str:
        return f"{field}-1"
    if hint is bytes:
        return b"sample"
    if hint is datetime:
        return WHEN
    if hint is date:
        return WHEN.date()
    if hint is Any or hint is object:
        return {"any": field}
    raise TypeError(f"no sample value for {hint!r} ({field})")


def sample(kind: type[msgspec.Struct]) -> msgspec.Struct:
    hints = typing.get_type_hints(kind, include_extras=True)
    values = {f.name: _value(hints[f.name], f.name) for f in msgspec.structs.fields(kind)}
    return kind(**values)


def write(release: str) -> list[Path]:
    folder = SAMPLES / release
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in bus_types():
        path = folder / f"{name(kind)}.json"
        if path.exists():
            continue
        path.write_bytes(msgspec.json.format(msgspec.json.encode(sample(kind)), indent=2) + b"\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(sys.argv[1]):
        print(path)
