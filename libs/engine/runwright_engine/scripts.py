"""``extract`` scripts: an expression, a function, or a body with ``return``."""

from __future__ import annotations


def as_function(script: str) -> str:
    """An expression, a function, or a body with ``return`` (wrapped in a function)."""
    stripped = script.strip()
    if (
        stripped.startswith(("function", "async function"))
        or (stripped.startswith(("(", "async (", "async(")) and "=>" in stripped.split("{")[0])
        or _is_arrow(stripped)
    ):
        return stripped
    if "return" in stripped:
        return f"async () => {{ {stripped} }}"
    return f"() => ({stripped.rstrip(';').strip()})"


def _is_arrow(text: str) -> bool:
    head = text.split("=>", 1)[0].strip()
    return "=>" in text and (head.isidentifier() or head.startswith("("))
