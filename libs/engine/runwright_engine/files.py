"""Files a run produces (exports, downloads, screenshots): safe names, hashes, a record each."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runwright_runbook.variables import format_value

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass
class FileRecord:
    kind: str  # "export", "download" or "screenshot"
    name: str
    path: Path
    size: int
    sha256: str
    content_type: str
    ordinal: int | None
    original_name: str | None = None
    artifact_id: str | None = None


def safe_name(name: str | None, default: str) -> str:
    """A file name with no path in it: the remote name is untrusted."""
    text = unicodedata.normalize("NFKC", name or "")
    text = text.replace("\\", "/").split("/")[-1]
    text = _UNSAFE.sub("_", text).strip(" .")
    return text[:120] or default


def unique_path(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    candidate = directory / name
    stem, suffix = candidate.stem, candidate.suffix
    counter = 1
    while candidate.exists():
        counter += 1
        candidate = directory / f"{stem}-{counter}{suffix}"
    return candidate


def record(kind: str, path: Path, ordinal: int | None, original: str | None = None) -> FileRecord:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileRecord(
        kind=kind,
        name=path.name,
        path=path,
        size=path.stat().st_size,
        sha256=digest.hexdigest(),
        content_type=content_type,
        ordinal=ordinal,
        original_name=original,
    )


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return format_value(value)


def export_text(items: list[Any], fmt: str) -> str:
    """CSV: objects get a column per key in first-seen order; plain values a `value` column."""
    if fmt == "json":
        return json.dumps(items, ensure_ascii=False, indent=2) + "\n"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if items and all(isinstance(i, dict) for i in items):
        columns: list[str] = []
        for item in items:
            columns += [k for k in item if k not in columns]
        writer.writerow(columns)
        for item in items:
            writer.writerow([_cell(item.get(c, "")) for c in columns])
    else:
        writer.writerow(["value"])
        for item in items:
            writer.writerow([_cell(item)])
    return out.getvalue()
