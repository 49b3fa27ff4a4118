"""The OpenAPI document and the interactive docs: served by the gateway, complete, and usable
offline under a self-only Content-Security-Policy."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Page
from runwright_stack.stack import Stack

pytestmark = pytest.mark.e2e


def document(stack: Stack) -> dict[str, Any]:
    response = httpx.get(f"{stack.gateway_url}/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    answer: dict[str, Any] = response.json()
    return answer


def test_the_openapi_document_describes_bodies_errors_and_security(stack: Stack) -> None:
    doc = document(stack)
    assert doc["openapi"].startswith("3.1")
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "session"}
    problem = doc["components"]["schemas"]["ProblemDetails"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    assert doc["components"]["schemas"]["FieldError"]["required"] == ["field", "message"]
    submit = doc["paths"]["/api/v1/jobs"]["post"]
    assert submit["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JobRequest"
    }
    assert {"201", "400", "401", "422", "429"} <= set(submit["responses"])
    assert "application/problem+json" in submit["responses"]["422"]["content"]
    stream = doc["paths"]["/api/v1/jobs/{job_id}/events"]["get"]["responses"]
    assert "text/event-stream" in stream["200"]["content"]
    assert "204" in stream
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/api/"):
                assert operation["security"], f"{method} {path} names no security"
            if method in ("post", "patch") and not path.endswith(
                ("}/{action}", "}/resend", "}/publish", "}/test", "}/redeliver")
            ):
                assert "requestBody" in operation, f"{method} {path} has no body"


def test_the_old_schema_address_still_leads_to_the_document(stack: Stack) -> None:
    response = httpx.get(f"{stack.gateway_url}/api/schema/openapi.json", follow_redirects=True)
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Runwright API"


def test_the_docs_page_loads_nothing_from_elsewhere(stack: Stack) -> None:
    page = httpx.get(f"{stack.gateway_url}/api/docs")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)
    for asset in re.findall(r"(?:src|href)=\"(/api/docs/assets/[^\"]+)\"", page.text):
        assert httpx.get(f"{stack.gateway_url}{asset}").status_code == 200, asset


async def test_the_interactive_docs_render_under_their_security_policy(
    stack: Stack, page: Page
) -> None:
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    outside: list[str] = []
    page.on(
        "request", lambda r: None if r.url.startswith(stack.gateway_url) else outside.append(r.url)
    )
    await page.goto("/api/docs")
    await page.locator(".swagger-ui .info .title").filter(has_text="Runwright API").wait_for()
    await page.locator(".opblock-summary-path", has_text="/api/v1/jobs").first.wait_for()
    assert blocked == []
    assert [u for u in outside if not u.startswith("data:")] == []
