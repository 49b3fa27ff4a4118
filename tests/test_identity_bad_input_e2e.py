"""Bad input on the identity routes: a NUL, a body too big and one nested too deep are each a 4xx
naming the field (never a 500), and nothing is written."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from runwright_proto import limits
from runwright_stack.stack import Stack

pytestmark = pytest.mark.e2e

ROUTES = [
    ("POST", "/api/v1/invitations", {"email": "a@example.test", "role": "member"}),
    ("POST", "/api/v1/invitations/accept", {"token": "inv_x", "password": "p" * 12}),
    ("POST", "/api/v1/me/password", {"current_password": "x", "new_password": "y"}),
    ("PATCH", f"/api/v1/members/{uuid.uuid4()}", {"role": "viewer"}),
    ("PUT", "/api/v1/workspaces/current/limits", {"concurrency": 1}),
    ("POST", "/api/v1/workspaces", {"slug": "bad-input"}),
    ("POST", "/console/session", {"email": "a@example.test", "password": "x"}),
]


def deep(levels: int) -> object:
    value: object = "x"
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[r[1] for r in ROUTES])
def test_nul_too_big_and_too_deep_are_refused_naming_the_field(
    stack: Stack, method: str, path: str, body: dict[str, object]
) -> None:
    headers = {"Authorization": f"Bearer {stack.token}", "Content-Type": "application/json"}
    field = next(iter(body))
    nul = {**body, field: "a\u0000b"}
    big = {**body, field: "x" * (limits.MAX_BODY_BYTES + 10)}
    nested = {**body, field: deep(limits.MAX_DEPTH + 5)}
    with httpx.Client(base_url=stack.gateway_url, timeout=30, headers=headers) as client:
        before = client.get("/api/v1/invitations").json()["items"]
        for case, sent in (("nul", nul), ("big", big), ("deep", nested)):
            answer = client.request(method, path, content=json.dumps(sent))
            assert 400 <= answer.status_code < 500, (case, answer.status_code, answer.text)
            if case != "big":
                assert field in answer.text, (case, answer.text)
        answer = client.request(method, path, content=b'{"' + field.encode() + b'": "\xff"}')
        assert 400 <= answer.status_code < 500, ("not utf-8", answer.text)
        assert client.get("/api/v1/invitations").json()["items"] == before
