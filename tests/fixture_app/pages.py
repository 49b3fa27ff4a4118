"""The fixture pages: HTML files under ``pages/`` with ``{{name}}`` placeholders filled here."""

import re
from functools import cache
from pathlib import Path

PAGES_DIR = Path(__file__).resolve().parent / "pages"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@cache
def _source(name: str) -> str:
    return (PAGES_DIR / name).read_text(encoding="utf-8")


def render(name: str, **values: str) -> str:
    """The file ``pages/<name>`` with every ``{{key}}`` replaced by ``values[key]``.

    Values are inserted as given (escape them first); a placeholder without a value, or a value
    without a placeholder, is a bug in the fixture and raises ``KeyError``.
    """
    source = _source(name)
    found = set(_PLACEHOLDER.findall(source))
    if found != set(values):
        raise KeyError(f"{name}: placeholders {sorted(found)}, values {sorted(values)}")
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], source)
