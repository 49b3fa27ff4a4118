"""Every relative link in the repository's READMEs and docs/*.md leads to a file that exists, and
every ``#anchor`` into a Markdown file to one of its headings."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {".git", ".venv", "node_modules", ".uv", ".runwright", ".mypy_cache", ".ruff_cache"}
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def documents() -> list[Path]:
    readmes = [
        p for p in ROOT.rglob("README.md") if not SKIPPED_DIRS & set(p.relative_to(ROOT).parts)
    ]
    return sorted({*readmes, *(ROOT / "docs").glob("*.md")})


def prose(text: str) -> str:
    """The text without code blocks and inline code (links there are examples, not links)."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """The anchor a heading gets on GitHub: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|__|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def relative_links(path: Path) -> list[str]:
    text = prose(path.read_text(encoding="utf-8"))
    found = LINK.findall(text) + REFERENCE.findall(text)
    return [link for link in found if not re.match(r"^[a-z][a-z0-9+.-]*:", link, re.I)]


def broken(path: Path) -> list[str]:
    problems = []
    for link in relative_links(path):
        target, _, anchor = link.partition("#")
        file = (path.parent / unquote(target)).resolve() if target else path
        if not file.exists():
            problems.append(f"{link}: no such file")
        elif anchor and file.suffix == ".md" and anchor.lower() not in anchors(file):
            problems.append(f"{link}: no heading with that anchor")
    return problems


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    assert broken(path) == []


def test_the_check_finds_a_broken_link_and_a_broken_anchor(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# A heading\n\n## Second `part`\n")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](there.md) [ok](there.md#second-part) [ok](#local) [web](https://example.com/x)\n"
        "[gone](missing.md) [bad](there.md#nowhere) `[code](ignored.md)`\n\n## Local\n"
    )
    assert broken(page) == [
        "missing.md: no such file",
        "there.md#nowhere: no heading with that anchor",
    ]


def test_the_format_reference_is_among_the_documents_checked() -> None:
    assert ROOT / "docs" / "runbook-format.md" in documents()
