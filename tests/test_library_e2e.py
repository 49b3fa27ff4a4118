"""Stored runbooks through the real gateway: a runbook's versions (draft, publish, rollback,
archive, diff), jobs that run ``runbook_ref`` and say which version they ran, the roles that may
write, publish and archive, workspaces that see only their own, and bad input named by field."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from runwright_stack.stack import Stack
from support.runbooks import runbook
from support.sse import read_events

pytestmark = pytest.mark.e2e

YAML_V1 = """\
# Export the invoices of the month (written by hand: this comment stays in the stored text)
title: Export invoices
settings:
  baseUrl: about:blank
metadata:
  startUrl: about:blank
steps:
  - ordinal: 0
    description: wait for the page
    action: {type: wait, duration: 1}
  - ordinal: 1
    description: wait again
    action: {type: wait, duration: 1}
"""
YAML_V2 = YAML_V1.replace(
    "wait again\n    action: {type: wait, duration: 1}",
    "wait once more\n    action: {type: wait, duration: 2}",
)


def client(stack: Stack, token: str, workspace: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"}
    if workspace:
        headers["X-Workspace"] = workspace
    return httpx.Client(base_url=stack.gateway_url, timeout=30, headers=headers)


@pytest.fixture(scope="module")
def keys(stack: Stack) -> dict[str, Any]:
    """A fresh workspace with a key of each role, and an Admin key of another workspace."""
    slug, other = f"lib-{uuid.uuid4().hex[:8]}", f"lib-{uuid.uuid4().hex[:8]}"
    made: dict[str, Any] = {"slug": slug}
    with client(stack, stack.token) as admin:
        for name in (slug, other):
            assert admin.post("/api/v1/workspaces", json={"slug": name}).status_code == 201
    for workspace, roles in (
        (slug, ("viewer", "member", "developer", "admin")),
        (other, ("admin",)),
    ):
        with client(stack, stack.token, workspace) as installer:
            for role in roles:
                key = installer.post(
                    "/api/v1/keys", json={"name": f"{role}-{uuid.uuid4().hex[:4]}", "role": role}
                )
                assert key.status_code == 201, key.text
                made[role if workspace == slug else "outsider"] = key.json()["key"]
    return made


def run(api: httpx.Client, ref: str, **extra: Any) -> httpx.Response:
    return api.post("/api/v1/jobs", json={"runbook_ref": ref, **extra})


def test_a_runbooks_versions_are_drafted_published_rolled_back_diffed_and_run_by_ref(
    stack: Stack, keys: dict[str, Any]
) -> None:
    slug = f"invoices-{uuid.uuid4().hex[:6]}"
    with client(stack, keys["developer"]) as dev, client(stack, keys["member"]) as member:
        made = dev.post(
            "/api/v1/runbooks", json={"slug": slug, "runbook": YAML_V1, "message": "first"}
        )
        assert made.status_code == 201, made.text
        assert made.headers["location"] == f"/api/v1/runbooks/{slug}"
        body = made.json()
        assert (body["title"], body["latest_version"], body["published_version"]) == (
            "Export invoices",
            1,
            None,
        )
        assert body["versions"][0]["author"].startswith("key:developer-")
        assert body["versions"][0]["published"] is False

        unpublished = run(member, slug)
        assert unpublished.status_code == 422
        assert unpublished.json()["errors"][0]["field"] == "runbook_ref"
        assert "no published version" in unpublished.text
        assert run(member, f"{slug}@1").status_code == 201, "a draft runs when named"

        published = dev.post(f"/api/v1/runbooks/{slug}/versions/1/publish")
        assert published.status_code == 200, published.text
        assert published.json()["published_version"] == 1
        job = run(member, slug).json()
        assert (job["runbook_slug"], job["runbook_version"]) == (slug, 1)
        assert job["labels"]["runwright.runbook"] == slug

        second = dev.post(
            f"/api/v1/runbooks/{slug}/versions", json={"runbook": YAML_V2, "message": "slower"}
        )
        assert second.status_code == 201, second.text
        assert second.json()["number"] == 2
        assert second.json()["published"] is False
        again = dev.post(f"/api/v1/runbooks/{slug}/versions", json={"runbook": YAML_V2})
        assert (again.status_code, again.json()["number"]) == (200, 2), (
            "the same text is no new version"
        )
        stored = dev.get(f"/api/v1/runbooks/{slug}/versions/1").json()
        assert stored["source"] == YAML_V1, "the text is kept as written, comment and all"

        diff = dev.get(f"/api/v1/runbooks/{slug}/versions/1/diff/2").json()
        assert diff["steps_changed"] == [1]
        assert "-    description: wait again" in diff["diff"]
        assert "+    description: wait once more" in diff["diff"]
        assert dev.get(f"/api/v1/runbooks/{slug}/versions/1/diff/1").json()["diff"] == ""

        assert run(member, slug).json()["runbook_version"] == 1, "the published one, not the latest"
        dev.post(f"/api/v1/runbooks/{slug}/versions/2/publish")
        assert run(member, slug).json()["runbook_version"] == 2
        rolled = dev.post(f"/api/v1/runbooks/{slug}/versions/1/publish")
        assert rolled.json()["published_version"] == 1
        latest = run(member, slug).json()
        assert latest["runbook_version"] == 1, "a rollback runs the older version again"
        assert latest["title"] == "Export invoices"

        listed = member.get("/api/v1/jobs", params={"q": f"runwright.runbook={slug}"}).json()
        assert [j["runbook_version"] for j in listed["items"]] == [1, 2, 1, 1, 1]

        with client(stack, keys["admin"]) as admin:
            assert dev.delete(f"/api/v1/runbooks/{slug}").status_code == 403, "Admins archive"
            assert admin.delete(f"/api/v1/runbooks/{slug}").status_code == 204
        archived = run(member, slug)
        assert archived.status_code == 422
        assert "archived" in archived.json()["errors"][0]["message"]
        assert slug not in [r["slug"] for r in member.get("/api/v1/runbooks").json()["items"]]
        gone = member.get("/api/v1/runbooks", params={"archived": "true"}).json()["items"]
        assert slug in [r["slug"] for r in gone]
        assert (
            dev.post(f"/api/v1/runbooks/{slug}/versions", json={"runbook": YAML_V1}).status_code
            == 409
        )
        restored = dev.patch(
            f"/api/v1/runbooks/{slug}", json={"archived": False, "title": "Invoices"}
        )
        assert restored.status_code == 200, restored.text
        assert (restored.json()["archived"], restored.json()["title"]) == (False, "Invoices")
        assert run(member, slug).status_code == 201


def test_roles_write_publish_and_read_as_the_table_says(stack: Stack, keys: dict[str, Any]) -> None:
    slug = f"roles-{uuid.uuid4().hex[:6]}"
    with client(stack, keys["member"]) as member, client(stack, keys["viewer"]) as viewer:
        assert (
            member.post("/api/v1/runbooks", json={"slug": slug, "runbook": YAML_V1}).status_code
            == 403
        )
        with client(stack, keys["developer"]) as dev:
            assert (
                dev.post(
                    "/api/v1/runbooks", json={"slug": slug, "runbook": YAML_V1, "publish": True}
                ).status_code
                == 201
            )
        assert member.post(f"/api/v1/runbooks/{slug}/versions/1/publish").status_code == 403
        assert viewer.get(f"/api/v1/runbooks/{slug}").json()["published_version"] == 1
        assert run(viewer, slug).status_code == 403, "Viewers read, Members run"
        assert run(member, slug).status_code == 201


def test_another_workspace_sees_none_of_them(stack: Stack, keys: dict[str, Any]) -> None:
    slug = f"mine-{uuid.uuid4().hex[:6]}"
    with client(stack, keys["developer"]) as dev:
        assert (
            dev.post(
                "/api/v1/runbooks", json={"slug": slug, "runbook": YAML_V1, "publish": True}
            ).status_code
            == 201
        )
    with client(stack, keys["outsider"]) as outsider:
        assert outsider.get(f"/api/v1/runbooks/{slug}").status_code == 404
        assert outsider.get(f"/api/v1/runbooks/{slug}/versions/1").status_code == 404
        assert slug not in [r["slug"] for r in outsider.get("/api/v1/runbooks").json()["items"]]
        theirs = run(outsider, slug)
        assert theirs.status_code == 422
        assert "no runbook" in theirs.json()["errors"][0]["message"]
        # Their own runbook of the same slug is theirs alone.
        assert (
            outsider.post("/api/v1/runbooks", json={"slug": slug, "runbook": YAML_V2}).status_code
            == 201
        )


async def test_bad_input_is_named_by_field_and_versions_never_change(
    stack: Stack, keys: dict[str, Any]
) -> None:
    slug = f"bad-{uuid.uuid4().hex[:6]}"
    broken = runbook([{"action": {"type": "click"}}], start_url="about:blank")
    with client(stack, keys["developer"]) as dev:
        cases: list[tuple[dict[str, Any], str]] = [
            ({"slug": slug, "runbook": broken}, "runbook.steps[0].action.selector"),
            ({"slug": slug, "runbook": "steps: [unclosed"}, "runbook"),
            ({"slug": "Not A Slug", "runbook": YAML_V1}, "slug"),
            ({"slug": "validate", "runbook": YAML_V1}, "slug"),
            ({"slug": "a\x00b", "runbook": YAML_V1}, "slug"),
            ({"slug": slug, "runbook": YAML_V1, "extra": 1}, "extra"),
        ]
        for body, field in cases:
            answer = dev.post("/api/v1/runbooks", json=body)
            assert 400 <= answer.status_code < 500, (body, answer.text)
            assert field in answer.text, (field, answer.text)
        assert dev.get(f"/api/v1/runbooks/{slug}").status_code == 404, "nothing half-written"
        assert (
            dev.post("/api/v1/runbooks", json={"slug": slug, "runbook": YAML_V1}).status_code == 201
        )
        taken = dev.post("/api/v1/runbooks", json={"slug": slug, "runbook": YAML_V1})
        assert taken.status_code == 409
        assert taken.json()["errors"][0]["field"] == "slug"
        with client(stack, keys["member"]) as member:
            for body, field in (
                ({"runbook": YAML_V1, "runbook_ref": slug}, "runbook_ref"),
                ({}, "runbook"),
                ({"runbook_ref": f"{slug}@x"}, "runbook_ref"),
                ({"runbook_ref": f"{slug}@9"}, "runbook_ref"),
                (
                    {"runbook_ref": f"{slug}@1", "labels": {"runwright.runbook": "forged"}},
                    "labels.runwright.runbook",
                ),
            ):
                answer = member.post("/api/v1/jobs", json=body)
                assert answer.status_code == 422, (body, answer.text)
                assert answer.json()["errors"][0]["field"] == field, answer.text
        assert dev.get(f"/api/v1/runbooks/{slug}/versions/7").status_code == 404
        assert dev.post(f"/api/v1/runbooks/{slug}/versions/7/publish").status_code == 404
        assert dev.get(f"/api/v1/runbooks/{slug}/versions/1/diff/7").status_code == 404

    conn = await asyncpg.connect(stack.database_url)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE gateway.runbook_versions SET source = 'changed'")
    finally:
        await conn.close()


def test_a_schedule_follows_or_pins_a_stored_runbook(stack: Stack, keys: dict[str, Any]) -> None:
    slug = f"sched-{uuid.uuid4().hex[:6]}"
    with client(stack, keys["developer"]) as dev:
        made = dev.post(
            "/api/v1/runbooks", json={"slug": slug, "runbook": YAML_V1, "publish": True}
        )
        assert made.status_code == 201
        base = {"cron": "0 6 * * *", "paused": True}
        follows = dev.post("/api/v1/schedules", json={**base, "runbook_ref": slug})
        assert follows.status_code == 201, follows.text
        assert follows.json()["runbook_ref"] == slug
        assert follows.json()["runbook"]["title"] == "Export invoices"
        assert follows.json()["labels"]["runwright.runbook_version"] == "1"
        pinned = dev.post("/api/v1/schedules", json={**base, "runbook_ref": f"{slug}@1"})
        assert pinned.json()["runbook_ref"] == f"{slug}@1"
        for body, field in (
            ({**base, "runbook_ref": "nope"}, "runbook_ref"),
            ({**base, "runbook_ref": slug, "runbook": YAML_V1}, "runbook_ref"),
            (base, "runbook"),
        ):
            refused = dev.post("/api/v1/schedules", json=body)
            assert refused.status_code == 422, refused.text
            assert field in [e["field"] for e in refused.json()["errors"]], refused.text
        # A runbook of its own replaces the stored one, and the other way round.
        schedule = follows.json()["id"]
        own = dev.patch(f"/api/v1/schedules/{schedule}", json={"runbook": YAML_V2})
        assert own.status_code == 200, own.text
        assert own.json()["runbook_ref"] is None
        back = dev.patch(f"/api/v1/schedules/{schedule}", json={"runbook_ref": f"{slug}@1"})
        assert back.status_code == 200, back.text
        assert back.json()["runbook_ref"] == f"{slug}@1"
        renamed = dev.patch(f"/api/v1/schedules/{schedule}", json={"name": "Morning export"})
        assert renamed.json()["runbook_ref"] == f"{slug}@1", "other changes keep the reference"


def test_the_list_shows_each_runbooks_last_runs_success_rate_and_median_time(
    stack: Stack, keys: dict[str, Any]
) -> None:
    slug = f"stats-{uuid.uuid4().hex[:6]}"
    with client(stack, keys["developer"]) as dev, client(stack, keys["member"]) as member:
        made = dev.post(
            "/api/v1/runbooks", json={"slug": slug, "runbook": YAML_V1, "publish": True}
        )
        assert made.json()["recent"] == []
        assert made.json()["success_rate"] is None
        ids = [run(member, slug).json()["id"] for _ in range(2)]
        for job_id in ids:
            read_events(member, f"/api/v1/jobs/{job_id}/events", timeout=60)
        (shown,) = [r for r in member.get("/api/v1/runbooks").json()["items"] if r["slug"] == slug]
        assert [r["id"] for r in shown["recent"]] == ids[::-1], "newest first"
        assert shown["success_rate"] == 1.0
        assert shown["median_duration_ms"] is not None
        assert member.get(f"/api/v1/runbooks/{slug}").json()["recent"][0]["status"] == "completed"


def test_a_workspace_that_asks_for_publish_approval_lets_only_admins_publish(
    stack: Stack, keys: dict[str, Any]
) -> None:
    slug = f"gated-{uuid.uuid4().hex[:6]}"
    with client(stack, keys["admin"]) as admin, client(stack, keys["developer"]) as dev:
        assert (
            dev.patch("/api/v1/workspaces/current", json={"publish_approval": True}).status_code
            == 403
        )
        asked = admin.patch("/api/v1/workspaces/current", json={"publish_approval": True})
        assert asked.status_code == 200, asked.text
        assert asked.json()["publish_approval"] is True
        try:
            refused = dev.post(
                "/api/v1/runbooks", json={"slug": slug, "runbook": YAML_V1, "publish": True}
            )
            assert refused.status_code == 403
            assert refused.json()["code"] == "publish_approval"
            assert dev.get(f"/api/v1/runbooks/{slug}").status_code == 404, "nothing half-written"
            assert (
                dev.post("/api/v1/runbooks", json={"slug": slug, "runbook": YAML_V1}).status_code
                == 201
            )
            assert dev.post(f"/api/v1/runbooks/{slug}/versions/1/publish").status_code == 403
            assert admin.post(f"/api/v1/runbooks/{slug}/versions/1/publish").status_code == 200
            bad = admin.patch("/api/v1/workspaces/current", json={"publish_approval": "yes"})
            assert bad.status_code in (400, 422)
        finally:
            admin.patch("/api/v1/workspaces/current", json={"publish_approval": False})
        assert dev.post(f"/api/v1/runbooks/{slug}/versions/1/publish").status_code == 200
