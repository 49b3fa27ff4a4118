"""Defaults for what a hand-written runbook may leave out: ``metadata`` and ``settings``.

Refrain writes both into every runbook it generates; a person writing one by hand need not.
Missing metadata is derived from the rest: ``startUrl`` from the first step's ``url``, else
``settings.baseUrl``; ``goal`` from the title; ``goalAchieved`` false; ``totalSteps`` the number
of steps; ``generatedAt`` none. Fields that are given are kept as they are.
"""

from __future__ import annotations

from typing import Any


def _start_url(document: dict[str, Any]) -> str | None:
    steps = document.get("steps")
    if isinstance(steps, list) and steps and isinstance(steps[0], dict):
        url = steps[0].get("url")
        if isinstance(url, str) and url:
            return url
    settings = document.get("settings")
    base = settings.get("baseUrl") if isinstance(settings, dict) else None
    return base if isinstance(base, str) and base else None


def metadata_defaults(document: dict[str, Any]) -> dict[str, Any]:
    """The metadata fields derived from the rest of the document (those it can derive)."""
    derived: dict[str, Any] = {"goalAchieved": False}
    if (start := _start_url(document)) is not None:
        derived["startUrl"] = start
    if isinstance(title := document.get("title"), str):
        derived["goal"] = title
    if isinstance(steps := document.get("steps"), list):
        derived["totalSteps"] = len(steps)
    return derived


def with_defaults(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with missing metadata fields filled in (a copy; the input is not changed).
    Metadata that is not a mapping is left for validation to report."""
    metadata = document.get("metadata", {})
    if not isinstance(metadata, dict):
        return document
    return {**document, "metadata": {**metadata_defaults(document), **metadata}}
