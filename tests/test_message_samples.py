"""Messages from earlier releases still decode: every sample kept under tests/data/messages/
<release>/ decodes with this release's types, so a rolling upgrade's mixed services understand
each other. The rule that makes it hold: a field added to a message later has a default."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from runwright_bus import decode
from support.message_samples import SAMPLES, bus_types, name, sample

TYPES = {name(kind): kind for kind in bus_types()}
FILES = sorted(SAMPLES.glob("*/*.json"))


def release_key(folder: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in folder.name.split("."))


def gained_required(sent: dict[str, object], kind: type[msgspec.Struct]) -> list[str]:
    """Fields ``kind`` requires that an older sender did not send."""
    return [
        f.encode_name
        for f in msgspec.structs.fields(kind)
        if f.required and f.encode_name not in sent
    ]


def test_the_latest_release_has_a_sample_of_every_message_on_the_bus() -> None:
    latest = max((p for p in SAMPLES.iterdir() if p.is_dir()), key=release_key)
    kept = {p.stem for p in latest.glob("*.json")}
    missing = sorted(set(TYPES) - kept)
    assert not missing, (
        f"no sample in {latest} of {missing}: run `python -m tests.support.message_samples "
        f"{latest.name}` and commit the new files"
    )


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_sample_from_a_release_decodes_with_the_current_types(path: Path) -> None:
    kind = TYPES.get(path.stem)
    assert kind is not None, f"{path}: message type {path.stem} is gone; old senders still send it"
    data = path.read_bytes()
    required = gained_required(msgspec.json.decode(data), kind)
    assert not required, (
        f"{path.stem} gained required field(s) {required} since {path.parent.name}: a field "
        "added later must have a default"
    )
    decoded: msgspec.Struct = decode(data, kind)
    assert isinstance(decoded, kind)


def test_a_field_added_without_a_default_is_caught() -> None:
    """The check above, on a message that gains a required field."""
    kind = TYPES["commands.DispatchJob"]
    later = msgspec.defstruct(
        "DispatchJob",
        [("region", str)],
        bases=(kind,),
        frozen=True,
        kw_only=True,
        tag=kind.__struct_config__.tag,
        tag_field=kind.__struct_config__.tag_field,
    )
    old = msgspec.json.encode(sample(kind))
    assert gained_required(msgspec.json.decode(old), later) == ["region"]
    with pytest.raises(msgspec.ValidationError, match="region"):
        decode(old, later)
