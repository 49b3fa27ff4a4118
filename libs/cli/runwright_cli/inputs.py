"""What people hand the commands: a runbook file, ``--var name=value``, a secrets file.

Every problem is a :class:`BadInput` with one line that says what to fix. Secret values never
appear in a message, not even in a parse error of the secrets file.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml


class BadInput(Exception):
    """Input the command cannot use; its message is the one line shown."""


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        raise BadInput(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise BadInput(f"{what} {path} is a directory, not a file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {what} {path}: {exc}") from None


def _yaml_position(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def read_runbook(path: Path) -> str:
    """The runbook's YAML text, checked to be YAML; the gateway validates the rest."""
    text = read_text(path, "runbook")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise BadInput(f"{path} is not valid YAML{_yaml_position(exc)}: {problem}") from None
    if not isinstance(document, dict):
        raise BadInput(f"{path} is not a runbook: expected a mapping with title and steps")
    return text


def parse_vars(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"--var expects name=value, got {pair!r}")
        values[name.strip()] = value
    return values


def read_secrets(path: Path | None) -> dict[str, str]:
    """A JSON or YAML mapping of secret name to value; values are sent as text."""
    if path is None:
        return {}
    text = read_text(path, "secrets file")
    try:
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"secrets file {path} is not valid JSON (line {exc.lineno})") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"secrets file {path} is not valid YAML{_yaml_position(exc)}") from None
    if not isinstance(document, dict):
        raise BadInput(f"secrets file {path} must map secret names to values")
    secrets: dict[str, str] = {}
    for name, value in document.items():
        if isinstance(value, dict | list) or value is None:
            raise BadInput(f"secrets file {path}: {name!s} must be a single value")
        secrets[str(name)] = str(value).lower() if isinstance(value, bool) else str(value)
    return secrets
