"""Runbooks for tests: the examples pointed at the test's demo app, and small builders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(name: str, demo_url: str) -> str:
    return (EXAMPLES / name).read_text().replace("http://127.0.0.1:8090", demo_url)


def runbook(
    steps: list[dict[str, Any]],
    *,
    start_url: str,
    title: str = "Test runbook",
    timeout_ms: int = 10000,
    stop_on_error: bool = True,
    pause_ms: int = 0,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A runbook as a JSON object, every required field filled in."""
    for ordinal, step in enumerate(steps):
        step.setdefault("ordinal", ordinal)
        step.setdefault("description", f"step {ordinal}")
    document: dict[str, Any] = {
        "title": title,
        "settings": {
            "baseUrl": start_url,
            "defaultTimeout": timeout_ms,
            "pauseBetweenSteps": pause_ms,
            "stopOnError": stop_on_error,
        },
        "metadata": {
            "startUrl": start_url,
            "goal": "test",
            "goalAchieved": True,
            "totalSteps": len(steps),
            "generatedAt": "2026-01-01T00:00:00Z",
        },
        "steps": steps,
    }
    if variables:
        document["variables"] = variables
    return document


def approval_runbook() -> list[dict[str, Any]]:
    """Steps whose second (high risk) asks for a person's approval, with a value captured first."""
    return [
        {
            "action": {"type": "navigate", "url": "/login"},
            "captures": [{"name": "page", "strategy": "url", "pattern": "/(login)"}],
        },
        {
            "description": "Sign in as the operator",
            "riskLevel": "high",
            "requiresConfirmation": True,
            "action": {"type": "input", "selector": {"id": "email"}, "value": "op@example.com"},
        },
        {"action": {"type": "wait", "duration": 1}},
    ]
