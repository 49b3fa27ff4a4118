"""Content type from an object's first bytes: a small table of magic numbers, then JSON and text.

Written by hand: the formats Runwright stores are few, and the libraries (filetype, puremagic) know
nothing of JSON, CSV or text, which need the checks below anyway. Text never becomes HTML or SVG.
"""

from __future__ import annotations

import codecs
import json
import struct

SNIFF_BYTES = 8192
"""How many leading bytes to pass: enough to see the first entries of an Office zip."""

OCTET_STREAM = "application/octet-stream"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
_OFFICE_DIRS = {"xl/": _XLSX, "word/": _DOCX, "ppt/": _PPTX}
_OFFICE_EXTS = {".xlsx": _XLSX, ".docx": _DOCX, ".pptx": _PPTX}

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"\x1f\x8b", "application/gzip"),
)
_FTYP_BRANDS = {b"qt  ": "video/quicktime", b"M4A ": "audio/mp4", b"avif": "image/avif"}
_JSON_SECOND = {ord(c) for c in '{["-0123456789tfn]'}


def sniff_content_type(head: bytes, name: str) -> str:
    """The content type of an object whose first bytes are ``head`` and whose (untrusted) file
    name is ``name``; the name only tells CSV from plain text and Office files from zips."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    if head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], "video/mp4")
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return _zip_type(head, name.lower())
    text = _utf8_text(head)
    if text is None:
        return OCTET_STREAM
    if _looks_like_json(text):
        return "application/json"
    return "text/csv" if name.lower().endswith(".csv") else "text/plain"


def _zip_type(head: bytes, name: str) -> str:
    """Office documents and ODF/EPUB are zips: tell them apart by their first entries' names."""
    offset = 0
    for _ in range(16):
        if head[offset : offset + 4] != b"PK\x03\x04" or len(head) < offset + 30:
            break
        flags, _m, _t, _d, _crc, packed = struct.unpack_from("<HHHHII", head, offset + 6)
        name_len, extra_len = struct.unpack_from("<HH", head, offset + 26)
        start = offset + 30
        entry = head[start : start + name_len].decode("utf-8", "replace")
        data = start + name_len + extra_len
        if entry == "mimetype" and packed < 100:
            declared = head[data : data + packed].decode("ascii", "replace")
            if declared.startswith(("application/vnd.oasis.opendocument", "application/epub")):
                return declared
        for prefix, content_type in _OFFICE_DIRS.items():
            if entry.startswith(prefix):
                return content_type
        if flags & 0x08:  # sizes follow the data: the next entry cannot be found from here
            break
        offset = data + packed
    return next((t for ext, t in _OFFICE_EXTS.items() if name.endswith(ext)), "application/zip")


def _utf8_text(head: bytes) -> str | None:
    """``head`` as text when it is UTF-8 without NULs (a character cut at the end is fine)."""
    if b"\x00" in head:
        return None
    try:
        return codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        return None


def _looks_like_json(text: str) -> bool:
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return False
    try:
        json.loads(stripped)
    except ValueError:
        # Only the start was given: a JSON document continues with a key, a value or a close.
        rest = stripped[1:].lstrip()
        if not rest:
            return True
        return rest[0] == '"' if stripped[0] == "{" else ord(rest[0]) in _JSON_SECOND
    return True
