"""Content-Disposition for downloads: the file name is attacker-controlled metadata, so it is
sanitised, and ``inline`` is honoured only for content types a browser shows without running code.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

MAX_NAME_CHARS = 150
FALLBACK_NAME = "download"

INLINE_SAFE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "video/webm",
        "video/mp4",
        "application/pdf",
        "application/json",
        "text/plain",
        "text/csv",
    }
)
"""Types shown inline on request; anything else (HTML, SVG, unknown) is always an attachment."""

_ATTR_CHARS = "!#$&+-.^_`|~"  # RFC 5987 attr-char, besides letters and digits


def safe_filename(name: str) -> str:
    """The last path segment of ``name``, without control characters or quotes, trimmed, at most
    150 characters with the extension kept; ``download`` when nothing is left."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        "_" if ch == '"' or unicodedata.category(ch).startswith("C") else ch for ch in name
    )
    name = " ".join(name.split()).strip(" .")
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = f"{stem[: MAX_NAME_CHARS - len(ext) - 1].rstrip(' .')}.{ext}"
        else:
            name = name[:MAX_NAME_CHARS].rstrip(" .")
    return name or FALLBACK_NAME


def content_disposition(filename: str, *, content_type: str, inline: bool) -> str:
    """An RFC 6266 header value: ``attachment`` (or ``inline`` for safe types) with an ASCII
    ``filename`` and, for non-ASCII names, an RFC 5987 ``filename*=UTF-8''...`` beside it."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    kind = "inline" if inline and media_type in INLINE_SAFE_TYPES else "attachment"
    name = safe_filename(filename)
    ascii_name = "".join(ch if ch.isascii() else "_" for ch in name)
    if ascii_name == name:
        return f'{kind}; filename="{name}"'
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"
